//! RFC 5424 syslog messages over UDP for the connection log (being written).
