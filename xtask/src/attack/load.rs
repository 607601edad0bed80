//! The hostile-load cases: what an unauthenticated peer can do to make the
//! appliance stop serving, without the key.

use super::cases::CaseFn;
use super::*;

/// Every hostile-load case: (name, service, function).
pub(super) const LOAD_CASES: &[(&str, &str, CaseFn)] = &[];

/// Cases that fail on today's code, and the targets they fail against:
/// `--quick` (CI) leaves them out until their fix lands.
pub(super) const AWAITING_FIX: &[(&str, &[TargetKind])] = &[];
