//! A minimal HTTP/1.1 GET over TCP, with one time limit for all of it.
//!
//! Enough to ask the piñata's page for `/`, `/stats.json` or `/ca.pem`: one
//! request per connection, read until the server closes (the page closes
//! after its response). Bodies are taken as they come (the page does not
//! send chunked bodies). The caller may connect the stream itself (from a
//! chosen source address) and use [`get_over`].

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// A response as read off the wire.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Response {
    /// The status code, 0 if the status line is not HTTP's.
    pub status: u16,
    /// Everything received, head and body.
    pub raw: Vec<u8>,
    /// Whether the server closed the connection before the time was up.
    pub complete: bool,
}

impl Response {
    /// Reads `raw` as a response.
    pub fn parse(raw: Vec<u8>, complete: bool) -> Response {
        let status = raw
            .strip_prefix(b"HTTP/1.")
            .and_then(|rest| rest.get(2..5))
            .and_then(|code| std::str::from_utf8(code).ok())
            .and_then(|code| code.parse().ok())
            .unwrap_or(0);
        Response {
            status,
            raw,
            complete,
        }
    }

    /// The body: what follows the blank line after the head (empty if none).
    pub fn body(&self) -> &[u8] {
        match self.raw.windows(4).position(|w| w == b"\r\n\r\n") {
            Some(end) => &self.raw[end + 4..],
            None => &[],
        }
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(self.body()).into_owned()
    }
}

/// GET `path` from `addr` on a fresh connection; the connection, the
/// request and the response together take at most `limit`.
pub fn get(addr: SocketAddr, path: &str, limit: Duration) -> io::Result<Response> {
    let deadline = Instant::now() + limit;
    let mut stream = TcpStream::connect_timeout(&addr, limit)?;
    get_over(&mut stream, path, deadline)
}

/// GET `path` over a connected `stream`, reading until the server closes
/// or `deadline` passes (then [`Response::complete`] is false).
pub fn get_over(stream: &mut TcpStream, path: &str, deadline: Instant) -> io::Result<Response> {
    let left = deadline.saturating_duration_since(Instant::now());
    stream.set_write_timeout(Some(left.max(Duration::from_millis(1))))?;
    write!(stream, "GET {path} HTTP/1.1\r\nHost: pinata\r\n\r\n")?;
    let (raw, complete) = read_until_close(stream, deadline)?;
    Ok(Response::parse(raw, complete))
}

/// Everything `stream` sends until it closes or `deadline` passes; whether
/// it closed. A reset after some bytes ends the response too.
pub fn read_until_close(stream: &mut TcpStream, deadline: Instant) -> io::Result<(Vec<u8>, bool)> {
    let mut raw = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok((raw, false));
        }
        stream.set_read_timeout(Some(left))?;
        match stream.read(&mut buf) {
            Ok(0) => return Ok((raw, true)),
            Ok(n) => raw.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return Ok((raw, false));
            }
            Err(_) if !raw.is_empty() => return Ok((raw, true)),
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;
    use std::thread;

    #[test]
    fn a_get_reads_status_and_body_until_close() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = thread::spawn(move || {
            let (mut conn, _) = listener.accept().unwrap();
            let mut request = [0u8; 1024];
            let n = conn.read(&mut request).unwrap();
            conn.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\nno")
                .unwrap();
            String::from_utf8_lossy(&request[..n]).into_owned()
        });
        let response = get(addr, "/x", Duration::from_secs(10)).unwrap();
        assert!(server.join().unwrap().starts_with("GET /x HTTP/1.1\r\n"));
        assert_eq!(response.status, 404);
        assert_eq!(response.body_text(), "no");
        assert!(response.complete);
    }

    #[test]
    fn a_silent_server_ends_the_get_at_its_limit() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let response = get(addr, "/", Duration::from_millis(200)).unwrap();
        assert!(!response.complete);
        assert_eq!(response.status, 0);
        drop(listener);
    }

    #[test]
    fn what_is_not_http_has_status_zero() {
        assert_eq!(Response::parse(b"SSH-2.0".to_vec(), true).status, 0);
        assert_eq!(
            Response::parse(b"HTTP/1.0 200 OK\r\n\r\nhi".to_vec(), true).body(),
            b"hi"
        );
    }
}
