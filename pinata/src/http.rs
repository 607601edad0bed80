//! A deliberately small HTTP/1.x server: one request per connection.
//!
//! The page is the only thing served, so the parser stays minimal: bytes are
//! collected up to a hard limit ([`MAX_REQUEST_BYTES`]), `httparse` parses the
//! head, and the answer is always followed by closing the connection. Bodies,
//! keep-alive and pipelining are not supported — a second request on the same
//! connection is ignored, which also makes request smuggling shapes moot.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write as _;

/// Largest request head accepted, in bytes. Anything longer is refused with
/// 431 and the connection closed.
pub const MAX_REQUEST_BYTES: usize = 8 * 1024;
/// Most header lines accepted in one request.
pub const MAX_HEADERS: usize = 32;

/// A parsed request: only what routing needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// `GET` or `HEAD`; other methods are answered with 405 before this exists.
    pub head_only: bool,
    /// The path without query string.
    pub path: String,
}

/// What the collected bytes amount to so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    /// Need more bytes.
    Partial,
    /// A complete, routable request.
    Request(Request),
    /// Answer with this error response and close.
    Error(Status),
}

/// The status codes this server uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// 200
    Ok,
    /// 400
    BadRequest,
    /// 404
    NotFound,
    /// 405
    MethodNotAllowed,
    /// 431
    HeadersTooLarge,
    /// 503
    Unavailable,
}

impl Status {
    /// Numeric code.
    pub const fn code(self) -> u16 {
        match self {
            Status::Ok => 200,
            Status::BadRequest => 400,
            Status::NotFound => 404,
            Status::MethodNotAllowed => 405,
            Status::HeadersTooLarge => 431,
            Status::Unavailable => 503,
        }
    }
    /// Reason phrase.
    pub const fn reason(self) -> &'static str {
        match self {
            Status::Ok => "OK",
            Status::BadRequest => "Bad Request",
            Status::NotFound => "Not Found",
            Status::MethodNotAllowed => "Method Not Allowed",
            Status::HeadersTooLarge => "Request Header Fields Too Large",
            Status::Unavailable => "Service Unavailable",
        }
    }
}

/// Parses the request head collected so far.
pub fn parse(buf: &[u8]) -> Parsed {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut headers);
    match request.parse(buf) {
        Ok(httparse::Status::Partial) => {
            if buf.len() >= MAX_REQUEST_BYTES {
                Parsed::Error(Status::HeadersTooLarge)
            } else {
                Parsed::Partial
            }
        }
        Ok(httparse::Status::Complete(_)) => {
            let head_only = match request.method {
                Some("GET") => false,
                Some("HEAD") => true,
                _ => return Parsed::Error(Status::MethodNotAllowed),
            };
            let Some(target) = request.path else {
                return Parsed::Error(Status::BadRequest);
            };
            // Origin-form only ("/path?query"); absolute-form and "*" are not ours.
            if !target.starts_with('/') {
                return Parsed::Error(Status::BadRequest);
            }
            let path = target.split(['?', '#']).next().unwrap_or("/");
            Parsed::Request(Request {
                head_only,
                path: String::from(path),
            })
        }
        Err(httparse::Error::TooManyHeaders) => Parsed::Error(Status::HeadersTooLarge),
        Err(_) => Parsed::Error(Status::BadRequest),
    }
}

/// A response ready to be serialised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// Status line.
    pub status: Status,
    /// `Content-Type` value.
    pub content_type: &'static str,
    /// Whether clients may cache it.
    pub cacheable: bool,
    /// The body (not sent for HEAD, but its length is).
    pub body: Vec<u8>,
}

impl Response {
    /// A plain-text error response.
    pub fn error(status: Status) -> Response {
        let mut body = String::new();
        let _ = writeln!(body, "{} {}", status.code(), status.reason());
        Response {
            status,
            content_type: "text/plain; charset=utf-8",
            cacheable: false,
            body: body.into_bytes(),
        }
    }

    /// Serialises status line, headers and (unless `head_only`) body.
    pub fn to_bytes(&self, head_only: bool) -> Vec<u8> {
        let mut head = String::new();
        let _ = write!(
            head,
            "HTTP/1.1 {} {}\r\n\
             Content-Type: {}\r\n\
             Content-Length: {}\r\n\
             Connection: close\r\n\
             Cache-Control: {}\r\n\
             X-Content-Type-Options: nosniff\r\n\
             Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'\r\n\
             Referrer-Policy: no-referrer\r\n\
             Server: pinata\r\n\r\n",
            self.status.code(),
            self.status.reason(),
            self.content_type,
            self.body.len(),
            if self.cacheable {
                "max-age=60"
            } else {
                "no-store"
            },
        );
        let mut out = head.into_bytes();
        if !head_only {
            out.extend_from_slice(&self.body);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_get_and_head() {
        assert_eq!(
            parse(b"GET /stats.json?x=1 HTTP/1.1\r\nHost: a\r\n\r\n"),
            Parsed::Request(Request {
                head_only: false,
                path: "/stats.json".into()
            })
        );
        assert_eq!(
            parse(b"HEAD / HTTP/1.0\r\n\r\n"),
            Parsed::Request(Request {
                head_only: true,
                path: "/".into()
            })
        );
    }

    #[test]
    fn partial_then_limits() {
        assert_eq!(parse(b"GET / HTTP/1.1\r\nHost"), Parsed::Partial);
        let mut long = b"GET /".to_vec();
        long.resize(MAX_REQUEST_BYTES, b'a');
        assert_eq!(parse(&long), Parsed::Error(Status::HeadersTooLarge));
    }

    #[test]
    fn rejects_bad_shapes() {
        assert_eq!(
            parse(b"POST / HTTP/1.1\r\n\r\n"),
            Parsed::Error(Status::MethodNotAllowed)
        );
        assert_eq!(
            parse(b"\x16\x03\x01\x00\x05hello"),
            Parsed::Error(Status::BadRequest)
        );
        assert_eq!(
            parse(b"GET http://evil/ HTTP/1.1\r\n\r\n"),
            Parsed::Error(Status::BadRequest)
        );
    }

    #[test]
    fn head_has_length_but_no_body() {
        let r = Response::error(Status::NotFound);
        let full = r.to_bytes(false);
        let head = r.to_bytes(true);
        assert!(full.ends_with(b"404 Not Found\n"));
        assert!(head.ends_with(b"\r\n\r\n"));
        let text = core::str::from_utf8(&head).unwrap();
        assert!(text.contains("Content-Length: 14\r\n"));
    }
}
