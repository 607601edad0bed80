//! Connection admission under the operator's limits (being written).
