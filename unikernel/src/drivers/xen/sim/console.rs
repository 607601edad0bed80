//! A simulated xenconsoled: drains the console ring's output half.

use std::cell::RefCell;
use std::rc::Rc;

use super::{Backend, SimPage, SimXen};
use crate::drivers::xen::shared_memory::SharedMemory;

const OUT: usize = 1024;
const OUT_SIZE: u32 = 2048;
const OUT_CONS: usize = 3080;
const OUT_PROD: usize = 3084;

/// The console daemon's view of one guest console.
pub struct Xenconsoled {
    page: SimPage,
    /// Bytes read per step at most.
    pub chunk: usize,
    /// Reads nothing while set (a daemon that stopped reading).
    pub paused: bool,
    /// Everything read so far.
    pub output: Vec<u8>,
}

impl Xenconsoled {
    /// A daemon on `page`, reading at most `chunk` bytes per step.
    pub fn new(page: SimPage, chunk: usize) -> Rc<RefCell<Xenconsoled>> {
        Rc::new(RefCell::new(Xenconsoled {
            page,
            chunk,
            paused: false,
            output: Vec::new(),
        }))
    }

    /// Bytes written and not yet read.
    pub fn pending(&self, page: &SimPage) -> u32 {
        page.load_u32(OUT_PROD)
            .wrapping_sub(page.load_u32(OUT_CONS))
    }
}

impl Backend for Xenconsoled {
    fn step(&mut self, _xen: &SimXen) {
        if self.paused {
            return;
        }
        let cons = self.page.load_u32(OUT_CONS);
        let prod = self.page.load_u32(OUT_PROD);
        let available = prod.wrapping_sub(cons);
        assert!(available <= OUT_SIZE, "guest overfilled the console ring");
        let n = (available as usize).min(self.chunk) as u32;
        for i in 0..n {
            let index = cons.wrapping_add(i) & (OUT_SIZE - 1);
            self.output.push(self.page.load_u8(OUT + index as usize));
        }
        self.page.store_u32(OUT_CONS, cons.wrapping_add(n));
    }
}
