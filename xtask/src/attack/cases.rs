//! What a case is, the context it runs in, and the list of quick cases.

use std::io::Write;
use std::net::Shutdown;
use std::thread;
use std::time::Duration;

use super::certs::{
    Certs, c_cert_expired, c_cert_long_chain, c_cert_lookalike_ca, c_cert_malformed, c_cert_none,
    c_cert_none_tls12, c_cert_not_yet_valid, c_cert_other_ca, c_cert_other_ca_tls12,
    c_cert_oversized, c_cert_self_signed, c_cert_server_eku, c_client_port_other_ca,
    c_connect_back_closed, c_connect_back_expired, c_connect_back_other_ca, c_connect_back_silent,
};
use super::flood::c_flood_idle;
use super::http::{
    c_http_bare_lf, c_http_big_headers, c_http_cl_te, c_http_double_cl, c_http_long_line,
    c_http_methods, c_http_obs_fold, c_http_pipelining, c_https_smuggling,
};
use super::isn::c_isn_prediction;
use super::net::{connect_from, read_until_close};
use super::protocol::{
    c_alert_mid_handshake, c_ccs_bad, c_ccs_first, c_ccs_many, c_ccs_tls12,
    c_client_port_garbage_server, c_early_data, c_fragmented_hello, c_heartbeat_after_hello,
    c_heartbeat_first, c_huge_handshake_length, c_interleaved_hello, c_max_length_record,
    c_no_renegotiation_info, c_oversized_record, c_renegotiation, c_sslv2, c_sslv2_compat, c_sslv3,
    c_tls10, c_tls11, c_two_hellos, c_two_hellos_13, c_unknown_content_type,
    c_unknown_record_version, c_unknown_type_after_hello, c_warning_alerts, c_zero_length,
    c_zero_length_appdata,
};
use super::records::describe;
use super::target::Target;
use super::transport::{
    c_garbage_client, c_garbage_https, c_garbage_server, c_give_me_the_key, c_half_open,
    c_http_to_tls, c_reset_at_once, c_reset_mid_handshake, c_slowloris_http, c_slowloris_many,
    c_slowloris_tls,
};
use super::*;

/// What one case did.
#[derive(Default)]
pub(super) struct Exchange {
    pub(super) sent: String,
    pub(super) reply: String,
    /// Every byte received and every decrypted byte, for the leak check.
    pub(super) seen: Vec<u8>,
    /// Extra time for the piñata to finish its side before counters are read.
    pub(super) settle: Duration,
    /// Lines printed in full under the table row (what the columns clip).
    pub(super) details: Vec<String>,
    /// What the case itself found wrong (the run adds its own: leaks,
    /// crashes, the page's latency); any fails the battery.
    pub(super) problems: Vec<String>,
}

pub(super) type CaseFn = fn(&Ctx) -> Exchange;

pub(super) struct Ctx<'a> {
    pub(super) target: &'a Target,
    pub(super) pki: &'a Certs,
    /// This process's open-file limit (after raising it): how many sockets
    /// the flood may hold.
    pub(super) open_files: u64,
    /// The tap device a case may boot a second VM on (`--net tap` only).
    pub(super) side_vm: Option<usize>,
    /// A quick run (CI): the page's latency is a figure, not a gate.
    pub(super) quick: bool,
}

impl Ctx<'_> {
    /// Where a case puts the page probes it made itself that failed
    /// (`what` says which, e.g. "at 20000 SYN/s the page"): a problem in
    /// the full battery, where the page must answer within 1 s throughout;
    /// in a quick run a figure in `details`, unless no probe answered at
    /// all (the page was down for the whole case, which is behaviour).
    pub(super) fn page_failures(
        &self,
        what: &str,
        page: &super::probe::PageFigures,
        problems: &mut Vec<String>,
        details: &mut Vec<String>,
    ) {
        if page.failures.is_empty() {
            return;
        }
        let line = format!(
            "{what} failed {} of {} probes (first: {})",
            page.failures.len(),
            page.probes,
            page.failures[0]
        );
        if self.quick && page.failures.len() < page.probes {
            details.push(format!("{line}; a figure in a quick run"));
        } else {
            problems.push(line);
        }
    }

    pub(super) fn port(&self, service: &str) -> u16 {
        self.target.port(service)
    }

    /// Connects as the attacker, sends `chunks` (pausing `gap` between
    /// them), half-closes if asked, and reads until the piñata closes.
    pub(super) fn raw(
        &self,
        service: &str,
        chunks: &[Vec<u8>],
        gap: Duration,
        half_close: bool,
    ) -> Exchange {
        let total: usize = chunks.iter().map(Vec::len).sum();
        let mut stream = match connect_from(None, self.port(service), Duration::from_secs(3)) {
            Ok(s) => s,
            Err(e) => {
                return Exchange {
                    reply: format!("connect failed: {e}"),
                    ..Default::default()
                };
            }
        };
        let mut write_error = None;
        for (i, chunk) in chunks.iter().enumerate() {
            if i > 0 && !gap.is_zero() {
                thread::sleep(gap);
            }
            if let Err(e) = stream.write_all(chunk) {
                write_error = Some(format!("write stopped at chunk {i}: {}", e.kind()));
                break;
            }
        }
        if half_close {
            let _ = stream.shutdown(Shutdown::Write);
        }
        let (bytes, end) = read_until_close(&mut stream, REPLY_WAIT);
        let mut reply = describe(&bytes, &end);
        if let Some(e) = write_error {
            reply = format!("{reply} ({e})");
        }
        Exchange {
            sent: format!("{total} B"),
            reply,
            seen: bytes,
            settle: Duration::ZERO,
            details: Vec::new(),
            problems: Vec::new(),
        }
    }
}

pub(super) fn sent(mut x: Exchange, what: &str) -> Exchange {
    x.sent = format!("{what} ({})", x.sent);
    x
}

pub(super) const NO_GAP: Duration = Duration::ZERO;

/// Every quick case: (name, service, function).
pub(super) const CASES: &[(&str, &str, CaseFn)] = &[
    ("sslv2_hello", "server", c_sslv2),
    ("sslv2_format_tls12", "https", c_sslv2_compat),
    ("sslv3_hello", "server", c_sslv3),
    ("tls10_hello", "server", c_tls10),
    ("tls11_hello", "https", c_tls11),
    (
        "tls12_no_renegotiation_info",
        "server",
        c_no_renegotiation_info,
    ),
    ("heartbeat_first", "server", c_heartbeat_first),
    ("heartbeat_after_hello", "server", c_heartbeat_after_hello),
    ("record_version_7f7f", "server", c_unknown_record_version),
    ("content_type_99", "server", c_unknown_content_type),
    (
        "content_type_0_after_hello",
        "https",
        c_unknown_type_after_hello,
    ),
    ("record_16641_bytes", "server", c_oversized_record),
    ("record_65535_bytes", "https", c_max_length_record),
    ("hello_claims_16mib", "server", c_huge_handshake_length),
    ("hello_1_byte_records", "server", c_fragmented_hello),
    ("hello_interleaved", "server", c_interleaved_hello),
    ("second_hello_tls12", "server", c_two_hellos),
    ("second_hello_tls13", "https", c_two_hellos_13),
    ("renegotiation_https", "https", c_renegotiation),
    ("early_data", "server", c_early_data),
    ("ccs_before_hello", "server", c_ccs_first),
    ("ccs_malformed", "server", c_ccs_bad),
    ("ccs_64_times", "server", c_ccs_many),
    ("ccs_finished_no_kx", "server", c_ccs_tls12),
    ("alert_mid_handshake", "server", c_alert_mid_handshake),
    ("warning_alerts", "server", c_warning_alerts),
    ("empty_records_5000", "server", c_zero_length),
    ("empty_appdata_5000", "https", c_zero_length_appdata),
    (
        "client_port_sslv3_server",
        "client",
        c_client_port_garbage_server,
    ),
    ("cert_none_tls13", "server", c_cert_none),
    ("cert_none_tls12", "server", c_cert_none_tls12),
    ("cert_self_signed", "server", c_cert_self_signed),
    ("cert_other_ca_tls13", "server", c_cert_other_ca),
    ("cert_other_ca_tls12", "server", c_cert_other_ca_tls12),
    ("cert_lookalike_ca", "server", c_cert_lookalike_ca),
    ("cert_expired", "server", c_cert_expired),
    ("cert_not_yet_valid", "server", c_cert_not_yet_valid),
    ("cert_server_eku", "server", c_cert_server_eku),
    ("cert_chain_22", "server", c_cert_long_chain),
    ("cert_60kb", "server", c_cert_oversized),
    ("cert_malformed_der", "server", c_cert_malformed),
    ("client_port_other_ca", "client", c_client_port_other_ca),
    (
        "connect_back_other_ca",
        "connect_back",
        c_connect_back_other_ca,
    ),
    (
        "connect_back_expired",
        "connect_back",
        c_connect_back_expired,
    ),
    (
        "connect_back_closed_port",
        "connect_back",
        c_connect_back_closed,
    ),
    (
        "connect_back_silent_port",
        "connect_back",
        c_connect_back_silent,
    ),
    ("garbage_server", "server", c_garbage_server),
    ("garbage_https", "https", c_garbage_https),
    ("garbage_client", "client", c_garbage_client),
    ("give_me_the_key", "server", c_give_me_the_key),
    ("http_on_tls_port", "server", c_http_to_tls),
    ("slowloris_tls", "server", c_slowloris_tls),
    ("slowloris_http", "http", c_slowloris_http),
    ("slowloris_30_conns", "*", c_slowloris_many),
    ("isn_prediction", "server", c_isn_prediction),
    ("flood_10000_idle", "server", c_flood_idle),
    ("half_open", "*", c_half_open),
    ("reset_mid_handshake", "*", c_reset_mid_handshake),
    ("reset_400_at_once", "*", c_reset_at_once),
    ("http_70kb_headers", "http", c_http_big_headers),
    ("http_100kb_line", "http", c_http_long_line),
    ("http_bad_methods", "http", c_http_methods),
    ("http_pipelining", "http", c_http_pipelining),
    ("http_cl_te", "http", c_http_cl_te),
    ("http_double_cl", "http", c_http_double_cl),
    ("http_obs_fold", "http", c_http_obs_fold),
    ("http_bare_lf", "http", c_http_bare_lf),
    ("https_cl_te", "https", c_https_smuggling),
];
