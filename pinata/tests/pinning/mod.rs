//! The heap-pinning attack's message, shared by the hosted accounting tests
//! (`hostile_load.rs`) and the unikernel's (`unikernel_memory.rs`).

/// The first `sent` bytes of a ClientHello declaring a ~64 KiB message, in
/// 16 KiB records: the piñata keeps what it can of the fragments, waiting
/// for the rest.
pub fn pinning_hello(sent: usize) -> Vec<u8> {
    const DECLARED: usize = 65_000;
    let mut message = vec![1u8];
    message.extend_from_slice(&(DECLARED as u32).to_be_bytes()[1..]);
    message.extend_from_slice(&[3, 3]);
    message.resize(4 + DECLARED, 0);
    let mut wire = Vec::new();
    for chunk in message.chunks(16 * 1024) {
        wire.extend_from_slice(&[0x16, 3, 1]);
        wire.extend_from_slice(&(chunk.len() as u16).to_be_bytes());
        wire.extend_from_slice(chunk);
    }
    wire.truncate(sent);
    wire
}
