//! A byte-stream driver for rustls's unbuffered connections.
//!
//! rustls's unbuffered API ([`UnbufferedServerConnection`],
//! [`UnbufferedClientConnection`]) leaves every buffer to the caller. This
//! module owns those buffers, bounds them, and turns the API's state machine
//! into the four things a service needs: feed received bytes in
//! ([`TlsStream::receive`]), take bytes to transmit out
//! ([`TlsStream::outgoing`]), read decrypted application data
//! ([`TlsStream::take_plaintext`]), and queue application data and
//! close_notify ([`TlsStream::send`], [`TlsStream::close`]). It does no I/O
//! and knows nothing about the piñata; the services in [`crate::session`]
//! build on it.
//!
//! When rustls reports an error it may still have a fatal alert queued; the
//! driver drains it into the outgoing buffer so the peer learns why, then the
//! stream is dead ([`TlsStream::error`]).
//!
//! # Memory
//!
//! Every buffer is bounded and sized to what it holds: input grows by
//! doubling up to [`MAX_INCOMING`] and no further, records are encoded into
//! exactly the room rustls asks for, and a buffer that empties gives its
//! memory back. [`TlsStream::footprint`] says what a stream holds — its
//! buffers, and an upper estimate of rustls's own state, including the
//! handshake transcript a TLS 1.2 server keeps while client authentication
//! is pending — for the event loop's memory budget
//! ([`crate::netloop`]).
//!
//! rustls keeps the fragments of a handshake message that spans several
//! records in the caller's buffer until the message is whole, so
//! [`MAX_INCOMING`] is also the largest handshake message a peer can send:
//! about 20 KiB. TLS allows 16 MiB; the messages the piñata must read are a
//! few KiB (a ClientHello, even with a post-quantum key share, is under
//! 4 KiB; the piñata's certificate chains are under 2 KiB).

use alloc::sync::Arc;
use alloc::vec::Vec;

use rustls::client::UnbufferedClientConnection;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::server::UnbufferedServerConnection;
use rustls::unbuffered::{
    ConnectionState, EncodeError, EncryptError, InsufficientSizeError, UnbufferedStatus,
};
use rustls::{ClientConfig, CommonState, Error, NamedGroup, ProtocolVersion, ServerConfig};

use zeroize::{Zeroize, Zeroizing};

use crate::client_hello::{self, Indication};

/// The largest TLS record rustls accepts on the wire: 2^14 bytes of
/// plaintext, 2,048 of expansion, the 5-byte header.
pub const MAX_RECORD_WIRE: usize = 16_384 + 2_048 + 5;
/// Most received-but-unprocessed TLS bytes held per connection: one record
/// of the largest size rustls accepts, with room to spare. rustls joins a
/// fragmented handshake message in this buffer, so this also bounds the
/// handshake messages a peer can send (see the module docs): a message
/// that does not fit ends the stream ([`StreamError::BufferFull`]).
pub const MAX_INCOMING: usize = 20 * 1024;
/// A buffer that empties keeps at most this much memory; a larger one is
/// given back.
const KEEP_CAPACITY: usize = 1024;
/// rustls's own heap per connection outside the buffers this driver
/// owns, as measured (`pinata/tests/memory_budget.rs`): the boxed state
/// machine, the deframer's spans, the key schedule, a hash context. The
/// handshake's transcript and the peer's certificates are counted apart
/// ([`TlsStream::footprint`]).
pub const RUSTLS_STATE_BYTES: usize = 4 * 1024;
/// What a client holds besides, from its ClientHello until the handshake
/// completes: the private halves of the key shares it offered. The
/// X25519MLKEM768 share's ML-KEM decapsulation key, kept in expanded form,
/// and its separately offered X25519 half, with allocator overhead
/// (measured in `pinata/tests/hostile_load.rs`: a client with a pending
/// hybrid share held ~0.5 KiB more than [`RUSTLS_STATE_BYTES`] covers;
/// rounded up generously).
pub const CLIENT_KEY_SHARES_BYTES: usize = 4 * 1024;
/// Most decrypted application bytes held per connection before the service
/// reads them.
pub const MAX_PLAINTEXT: usize = 16 * 1024;
/// Upper bound on driver iterations per call: a guard against a state loop,
/// far above what a real flight needs.
const MAX_STEPS: usize = 256;

/// Bytes kept from the head of a rejected record: the 5-byte record header
/// and the start of a handshake message, up to its legacy version.
const REJECTED_HEAD: usize = 11;

/// The two kinds of unbuffered connection, behind one interface.
trait Unbuffered {
    type Data;
    fn process<'c, 'i>(
        &'c mut self,
        incoming: &'i mut [u8],
    ) -> UnbufferedStatus<'c, 'i, Self::Data>;
    fn common(&self) -> &CommonState;
}

impl Unbuffered for UnbufferedServerConnection {
    type Data = rustls::server::ServerConnectionData;
    fn process<'c, 'i>(
        &'c mut self,
        incoming: &'i mut [u8],
    ) -> UnbufferedStatus<'c, 'i, Self::Data> {
        self.process_tls_records(incoming)
    }
    fn common(&self) -> &CommonState {
        self
    }
}

impl Unbuffered for UnbufferedClientConnection {
    type Data = rustls::client::ClientConnectionData;
    fn process<'c, 'i>(
        &'c mut self,
        incoming: &'i mut [u8],
    ) -> UnbufferedStatus<'c, 'i, Self::Data> {
        self.process_tls_records(incoming)
    }
    fn common(&self) -> &CommonState {
        self
    }
}

enum Conn {
    Server(UnbufferedServerConnection),
    Client(UnbufferedClientConnection),
}

/// Why a stream stopped accepting input.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamError {
    /// rustls rejected the peer (or its own state): see the error.
    Tls(Error),
    /// The peer sent more than [`MAX_INCOMING`] bytes without them forming
    /// complete records, or more than [`MAX_PLAINTEXT`] application bytes that
    /// the service did not read.
    BufferFull,
    /// A TLS 1.2-only ClientHello without the secure renegotiation
    /// indication: refused by the piñata's own rule (see
    /// [`crate::client_hello`]), before rustls saw it.
    NoRenegotiationIndication,
}

/// What the log's `detail=` says (rustls's own text for its errors).
impl core::fmt::Display for StreamError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            StreamError::Tls(error) => error.fmt(f),
            StreamError::BufferFull => f.write_str("buffer full"),
            StreamError::NoRenegotiationIndication => {
                f.write_str("TLS 1.2 ClientHello without renegotiation_info or its SCSV")
            }
        }
    }
}

/// A fatal `handshake_failure` alert record (TLS 1.2 framing).
const HANDSHAKE_FAILURE_ALERT: [u8; 7] = [0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28];

/// One TLS connection's state and buffers.
pub struct TlsStream {
    conn: Conn,
    incoming: Vec<u8>,
    rejected_head: Vec<u8>,
    outgoing: Vec<u8>,
    plaintext: Vec<u8>,
    pending_send: Vec<u8>,
    close_requested: bool,
    close_sent: bool,
    handshake_complete: bool,
    peer_closed: bool,
    /// Server side: the first record was looked at by
    /// [`crate::client_hello::renegotiation_indication`] (clients: always).
    hello_checked: bool,
    /// Bytes consumed and produced while the handshake was in progress:
    /// what rustls may be holding as the handshake's transcript.
    handshake_bytes: usize,
    error: Option<StreamError>,
}

impl TlsStream {
    /// A server-side stream for a freshly accepted connection.
    pub fn server(config: Arc<ServerConfig>) -> Result<TlsStream, Error> {
        Ok(Self::new(Conn::Server(UnbufferedServerConnection::new(
            config,
        )?)))
    }

    /// A client-side stream; the ClientHello is ready in [`Self::outgoing`] after
    /// the first [`Self::process`].
    pub fn client(
        config: Arc<ClientConfig>,
        server_name: ServerName<'static>,
    ) -> Result<TlsStream, Error> {
        Ok(Self::new(Conn::Client(UnbufferedClientConnection::new(
            config,
            server_name,
        )?)))
    }

    /// The connection and, borrowed apart from it, the buffers `drive` works on.
    fn split(&mut self) -> (&mut Conn, Buffers<'_>) {
        (
            &mut self.conn,
            Buffers {
                incoming: &mut self.incoming,
                outgoing: &mut self.outgoing,
                plaintext: &mut self.plaintext,
                pending_send: &mut self.pending_send,
                close_requested: self.close_requested,
                close_sent: &mut self.close_sent,
                handshake_complete: &mut self.handshake_complete,
                peer_closed: &mut self.peer_closed,
                rejected_head: &mut self.rejected_head,
            },
        )
    }

    fn new(conn: Conn) -> TlsStream {
        let hello_checked = matches!(conn, Conn::Client(_));
        TlsStream {
            hello_checked,
            conn,
            incoming: Vec::new(),
            rejected_head: Vec::new(),
            outgoing: Vec::new(),
            plaintext: Vec::new(),
            pending_send: Vec::new(),
            close_requested: false,
            close_sent: false,
            handshake_complete: false,
            peer_closed: false,
            handshake_bytes: 0,
            error: None,
        }
    }

    /// Appends bytes received from the peer and processes them. Returns the
    /// error that ended the stream, if it ended.
    ///
    /// Input is taken in pieces that fit [`MAX_INCOMING`] beside what is
    /// still unprocessed, each processed before the next: the stream ends
    /// with [`StreamError::BufferFull`] only when rustls cannot consume
    /// what the buffer holds (an unfinished record or handshake message
    /// that fills it).
    pub fn receive(&mut self, mut data: &[u8]) -> Result<(), StreamError> {
        while !data.is_empty() {
            if let Some(error) = &self.error {
                return Err(error.clone());
            }
            let room = MAX_INCOMING - self.incoming.len();
            if room == 0 {
                return Err(self.fail(StreamError::BufferFull));
            }
            let (piece, rest) = data.split_at(data.len().min(room));
            data = rest;
            grow_within(&mut self.incoming, piece.len(), MAX_INCOMING);
            self.incoming.extend_from_slice(piece);
            if !self.hello_checked {
                match client_hello::renegotiation_indication(&self.incoming) {
                    Indication::NeedMore => continue,
                    Indication::Missing => {
                        self.hello_checked = true;
                        // rustls has seen nothing: the alert is ours, in
                        // plaintext, as before any handshake.
                        self.outgoing.extend_from_slice(&HANDSHAKE_FAILURE_ALERT);
                        return Err(self.fail(StreamError::NoRenegotiationIndication));
                    }
                    Indication::Indicated | Indication::NotChecked => self.hello_checked = true,
                }
            }
            self.process()?;
        }
        Ok(())
    }

    /// What the stream holds in the heap besides the `TlsStream` value
    /// itself, in bytes, as an upper estimate: the driver's buffers (their
    /// capacity), rustls's fixed state
    /// ([`RUSTLS_STATE_BYTES`]), and while the handshake runs every byte
    /// it has consumed and produced (rustls's transcript holds at most
    /// those: a TLS
    /// 1.2 server requesting a client certificate keeps the whole
    /// transcript until the CertificateVerify), afterwards the peer's
    /// certificate chain.
    pub fn footprint(&self) -> usize {
        let retained = if self.handshake_complete {
            self.peer_certificates()
                .map_or(0, |chain| chain.iter().map(|c| c.len() + 32).sum())
        } else {
            self.handshake_bytes
        };
        self.incoming.capacity()
            + self.rejected_head.capacity()
            + self.outgoing.capacity()
            + self.plaintext.capacity()
            + self.pending_send.capacity()
            + RUSTLS_STATE_BYTES
            + retained
            + match (&self.conn, self.handshake_complete) {
                (Conn::Client(_), false) => CLIENT_KEY_SHARES_BYTES,
                _ => 0,
            }
    }

    /// Advances the state machine as far as buffered input allows, encoding
    /// any handshake records, queued application data and close_notify into
    /// the outgoing buffer.
    pub fn process(&mut self) -> Result<(), StreamError> {
        if let Some(error) = &self.error {
            return Err(error.clone());
        }
        let (unread, unsent) = (self.incoming.len(), self.outgoing.len());
        let (conn, mut buffers) = self.split();
        let result = match conn {
            Conn::Server(conn) => drive(conn, &mut buffers),
            Conn::Client(conn) => drive(conn, &mut buffers),
        };
        if self.handshake_complete {
            // rustls has dropped the handshake's state.
            self.handshake_bytes = 0;
        } else {
            // What rustls consumed (the rest of the input is counted as
            // the buffer's) and the flight it produced.
            self.handshake_bytes += unread.saturating_sub(self.incoming.len())
                + self.outgoing.len().saturating_sub(unsent);
        }
        release_if_empty(&mut self.incoming);
        match result {
            Ok(()) => Ok(()),
            Err(error) => Err(self.fail(error)),
        }
    }

    fn fail(&mut self, error: StreamError) -> StreamError {
        if self.error.is_none() {
            // rustls queues a fatal alert when it rejects the peer; send it.
            match &mut self.conn {
                Conn::Server(conn) => drain_alert(conn, &mut self.incoming, &mut self.outgoing),
                Conn::Client(conn) => drain_alert(conn, &mut self.incoming, &mut self.outgoing),
            }
            self.error = Some(error.clone());
        }
        // Nothing more will be read from this peer.
        self.incoming = Vec::new();
        self.plaintext = Vec::new();
        self.pending_send.zeroize();
        self.pending_send = Vec::new();
        error
    }

    /// Queues application data, encrypted as soon as the handshake allows.
    pub fn send(&mut self, data: &[u8]) -> Result<(), StreamError> {
        self.pending_send.extend_from_slice(data);
        self.process()
    }

    /// Queues close_notify after any pending application data.
    pub fn close(&mut self) -> Result<(), StreamError> {
        self.close_requested = true;
        self.process()
    }

    /// Bytes waiting to be transmitted to the peer.
    pub fn outgoing(&self) -> &[u8] {
        &self.outgoing
    }

    /// Marks the first `n` outgoing bytes as transmitted.
    pub fn consume_outgoing(&mut self, n: usize) {
        let n = n.min(self.outgoing.len());
        self.outgoing.drain(..n);
        release_if_empty(&mut self.outgoing);
    }

    /// Takes the decrypted application data received so far.
    pub fn take_plaintext(&mut self) -> Vec<u8> {
        core::mem::take(&mut self.plaintext)
    }

    /// Drops the decrypted application data received so far (a service
    /// that reads none: it cannot pile up).
    pub fn discard_plaintext(&mut self) {
        self.plaintext.clear();
        release_if_empty(&mut self.plaintext);
    }

    /// Whether the handshake has completed (for a server requiring client
    /// authentication: with a verified client certificate).
    pub fn is_handshake_complete(&self) -> bool {
        self.handshake_complete
    }

    /// Whether the peer sent close_notify.
    pub fn peer_closed(&self) -> bool {
        self.peer_closed
    }

    /// Whether our close_notify has been encoded.
    pub fn close_sent(&self) -> bool {
        self.close_sent
    }

    /// The error that ended the stream, if any.
    pub fn error(&self) -> Option<&StreamError> {
        self.error.as_ref()
    }

    fn common(&self) -> &CommonState {
        match &self.conn {
            Conn::Server(conn) => conn.common(),
            Conn::Client(conn) => conn.common(),
        }
    }

    /// The verified peer certificate chain, if the peer presented one.
    pub fn peer_certificates(&self) -> Option<&[CertificateDer<'static>]> {
        self.common().peer_certificates()
    }

    /// The negotiated protocol version, once known.
    pub fn protocol_version(&self) -> Option<ProtocolVersion> {
        self.common().protocol_version()
    }

    /// The key-exchange group the handshake agreed on, once known.
    pub fn negotiated_group(&self) -> Option<NamedGroup> {
        self.common()
            .negotiated_key_exchange_group()
            .map(|group| group.name())
    }

    /// The first bytes of the record that ended the stream with an error, if
    /// it was in the input (empty otherwise).
    pub fn rejected_record_head(&self) -> &[u8] {
        &self.rejected_head
    }

    /// Whether the peer has sent bytes that the handshake has not consumed:
    /// used to tell a truncated handshake from a silent peer.
    pub fn has_unprocessed_input(&self) -> bool {
        !self.incoming.is_empty()
    }
}

impl Drop for TlsStream {
    fn drop(&mut self) {
        // Data queued before the handshake allowed it may be the secret.
        self.pending_send.zeroize();
    }
}

struct Buffers<'a> {
    incoming: &'a mut Vec<u8>,
    /// Set on error: the head of the input the failing step started from.
    rejected_head: &'a mut Vec<u8>,
    outgoing: &'a mut Vec<u8>,
    plaintext: &'a mut Vec<u8>,
    pending_send: &'a mut Vec<u8>,
    close_requested: bool,
    close_sent: &'a mut bool,
    handshake_complete: &'a mut bool,
    peer_closed: &'a mut bool,
}

/// Makes room in `buf` for `more` bytes, doubling its capacity but never
/// beyond `limit` (nor below what is needed).
fn grow_within(buf: &mut Vec<u8>, more: usize, limit: usize) {
    let needed = buf.len() + more;
    if needed <= buf.capacity() {
        return;
    }
    let target = needed.max(buf.capacity().saturating_mul(2).min(limit));
    buf.reserve_exact(target - buf.len());
}

/// Gives an empty buffer's memory back, unless it is small.
fn release_if_empty(buf: &mut Vec<u8>) {
    if buf.is_empty() && buf.capacity() > KEEP_CAPACITY {
        *buf = Vec::new();
    }
}

/// Appends one encoding to `out`, growing it to exactly the size rustls
/// asks for: rustls is first asked with no room at all, which it answers
/// with the size it needs and nothing written.
fn encode_into(
    out: &mut Vec<u8>,
    mut encode: impl FnMut(&mut [u8]) -> Result<usize, InsufficientSizeError>,
) -> Result<(), Error> {
    let start = out.len();
    let mut room = match encode(&mut []) {
        Ok(written) => {
            debug_assert_eq!(written, 0);
            return Ok(());
        }
        Err(InsufficientSizeError { required_size }) => required_size,
    };
    for _ in 0..4 {
        out.reserve_exact(room);
        out.resize(start + room, 0);
        match encode(&mut out[start..]) {
            Ok(written) => {
                out.truncate(start + written);
                return Ok(());
            }
            Err(InsufficientSizeError { required_size }) => room = required_size,
        }
    }
    out.truncate(start);
    Err(Error::General("TLS record encoding did not fit".into()))
}

fn encode_error(e: EncodeError) -> Result<usize, InsufficientSizeError> {
    match e {
        EncodeError::InsufficientSize(size) => Err(size),
        // Cannot happen: every chunk is encoded once. Report as zero bytes.
        EncodeError::AlreadyEncoded => Ok(0),
    }
}

fn encrypt_error(e: EncryptError) -> Result<usize, InsufficientSizeError> {
    match e {
        EncryptError::InsufficientSize(size) => Err(size),
        // The sequence space is exhausted after 2^64 records: not reachable
        // with our bounded connections; treat as nothing written.
        EncryptError::EncryptExhausted => Ok(0),
    }
}

fn drive<C: Unbuffered>(conn: &mut C, b: &mut Buffers<'_>) -> Result<(), StreamError> {
    for _ in 0..MAX_STEPS {
        // Each step starts at the next unconsumed record: if the step fails,
        // that record is the one rustls rejected (FailureReason::refine).
        let head = b.incoming.len().min(REJECTED_HEAD);
        let mut rejected = [0u8; REJECTED_HEAD];
        rejected[..head].copy_from_slice(&b.incoming[..head]);
        let UnbufferedStatus { mut discard, state } = conn.process(b.incoming);
        let state = match state {
            Ok(state) => state,
            Err(error) => {
                *b.rejected_head = rejected[..head].to_vec();
                b.incoming.drain(..discard.min(b.incoming.len()));
                return Err(StreamError::Tls(error));
            }
        };
        let mut done = false;
        match state {
            ConnectionState::ReadTraffic(mut traffic) => {
                while let Some(record) = traffic.next_record() {
                    let record = record.map_err(StreamError::Tls)?;
                    discard += record.discard;
                    if b.plaintext.len() + record.payload.len() > MAX_PLAINTEXT {
                        return Err(StreamError::BufferFull);
                    }
                    b.plaintext.extend_from_slice(record.payload);
                }
            }
            ConnectionState::ReadEarlyData(_) => {
                // Our server configs accept no early data (max_early_data_size
                // is 0), so rustls never gets here; refuse rather than loop.
                return Err(StreamError::Tls(Error::General(
                    "unexpected early data".into(),
                )));
            }
            ConnectionState::EncodeTlsData(mut state) => {
                encode_into(b.outgoing, |buf| state.encode(buf).or_else(encode_error))
                    .map_err(StreamError::Tls)?;
            }
            ConnectionState::TransmitTlsData(mut state) => {
                // The caller transmits `outgoing` after this call returns; the
                // ordering of bytes is what matters to the peer, so the records
                // are "sent" once they are in the buffer.
                if let Some(mut traffic) = state.may_encrypt_app_data() {
                    write_pending(&mut traffic, b)?;
                }
                state.done();
            }
            ConnectionState::BlockedHandshake => done = true,
            ConnectionState::WriteTraffic(mut traffic) => {
                *b.handshake_complete = true;
                write_pending(&mut traffic, b)?;
                done = true;
            }
            ConnectionState::PeerClosed => *b.peer_closed = true,
            ConnectionState::Closed => {
                *b.peer_closed = true;
                done = true;
            }
            _ => done = true,
        }
        let discard = discard.min(b.incoming.len());
        b.incoming.drain(..discard);
        if done {
            return Ok(());
        }
    }
    Err(StreamError::Tls(Error::General(
        "TLS state machine did not settle".into(),
    )))
}

fn write_pending<Data>(
    traffic: &mut rustls::unbuffered::WriteTraffic<'_, Data>,
    b: &mut Buffers<'_>,
) -> Result<(), StreamError> {
    if !b.pending_send.is_empty() {
        // Zeroized however this ends: it may be the secret.
        let data = Zeroizing::new(core::mem::take(b.pending_send));
        for chunk in data.chunks(16 * 1024) {
            encode_into(b.outgoing, |buf| {
                traffic.encrypt(chunk, buf).or_else(encrypt_error)
            })
            .map_err(StreamError::Tls)?;
        }
    }
    if b.close_requested && !*b.close_sent {
        encode_into(b.outgoing, |buf| {
            traffic.queue_close_notify(buf).or_else(encrypt_error)
        })
        .map_err(StreamError::Tls)?;
        *b.close_sent = true;
    }
    Ok(())
}

/// After an error, rustls may hold a fatal alert for the peer: encode it.
///
/// Only what rustls has already queued is taken (`wants_write`): asking it
/// for more would make it deframe input again after the error. With an empty
/// buffer that panicked when the rejected message had shared a record with
/// later ones (a TLS 1.3 client's Certificate, CertificateVerify and Finished
/// in one record, as rustls clients send them: rustls still held their
/// offsets into the real input, `Delocator::slice_from_range`); with the real
/// input it re-reads a bad record and queues a second fatal alert (a
/// `debug_assert` in rustls). Both found by fuzzing (fuzz/regressions/).
/// While chunks are queued, rustls hands them out before it looks at the
/// input, so the buffer passed is never read.
fn drain_alert<C: Unbuffered>(conn: &mut C, incoming: &mut [u8], outgoing: &mut Vec<u8>) {
    for _ in 0..4 {
        if !conn.common().wants_write() {
            return;
        }
        let UnbufferedStatus { state, .. } = conn.process(incoming);
        let Ok(ConnectionState::EncodeTlsData(mut state)) = state else {
            return;
        };
        if encode_into(outgoing, |buf| state.encode(buf).or_else(encode_error)).is_err() {
            return;
        }
    }
}

#[cfg(all(test, feature = "std"))]
mod tests {
    use super::*;
    use crate::pki::{self, BOUNTY_SERVER_NAME, PkiOptions};
    use crate::random::OS_RANDOM;
    use rustls::RootCertStore;
    use rustls::pki_types::UnixTime;

    /// A server and a client stream over the boot-time PKI, the client
    /// offering `groups` (by name, in order) of the piñata's provider.
    fn pair(groups: &[NamedGroup]) -> (TlsStream, TlsStream) {
        let pki = pki::bootstrap(&OS_RANDOM, &PkiOptions::new(UnixTime::now())).unwrap();
        let provider = Arc::new(crate::provider::provider(&OS_RANDOM));
        let server = ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(pki.server.cert_chain.clone(), pki.server.key_der())
            .unwrap();
        let mut client_provider = (*provider).clone();
        client_provider
            .kx_groups
            .retain(|group| groups.contains(&group.name()));
        let mut roots = RootCertStore::empty();
        roots.add(pki.ca_cert.clone()).unwrap();
        let client = ClientConfig::builder_with_provider(Arc::new(client_provider))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        let name = ServerName::try_from(BOUNTY_SERVER_NAME).unwrap();
        (
            TlsStream::server(Arc::new(server)).unwrap(),
            TlsStream::client(Arc::new(client), name).unwrap(),
        )
    }

    fn handshake(server: &mut TlsStream, client: &mut TlsStream) {
        client.process().unwrap();
        for _ in 0..10 {
            let to_server = client.outgoing().to_vec();
            client.consume_outgoing(to_server.len());
            server.receive(&to_server).unwrap();
            let to_client = server.outgoing().to_vec();
            server.consume_outgoing(to_client.len());
            client.receive(&to_client).unwrap();
            if server.is_handshake_complete() && client.is_handshake_complete() {
                return;
            }
        }
        panic!("the handshake did not complete");
    }

    #[test]
    fn both_ends_report_the_negotiated_group_and_version() {
        for group in [
            NamedGroup::X25519MLKEM768,
            NamedGroup::X25519,
            NamedGroup::secp256r1,
        ] {
            let (mut server, mut client) = pair(&[group]);
            assert_eq!(server.negotiated_group(), None);
            handshake(&mut server, &mut client);
            for end in [&server, &client] {
                assert_eq!(end.negotiated_group(), Some(group));
                assert_eq!(end.protocol_version(), Some(ProtocolVersion::TLSv1_3));
            }
        }
    }
}
