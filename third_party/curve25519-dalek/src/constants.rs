// -*- mode: rust; -*-
//
// This file is part of curve25519-dalek.
// Copyright (c) 2016-2021 isis lovecruft
// Copyright (c) 2016-2019 Henry de Valence
// See LICENSE for licensing information.
//
// Authors:
// - isis agora lovecruft <isis@patternsinthevoid.net>
// - Henry de Valence <hdevalence@hdevalence.ca>
//! Various constants, such as the Ristretto and Ed25519 basepoints.

#![allow(non_snake_case)]

use cfg_if::cfg_if;

use crate::edwards::CompressedEdwardsY;
use crate::montgomery::MontgomeryPoint;
use crate::ristretto::{CompressedRistretto, RistrettoPoint};
use crate::scalar::Scalar;

#[cfg(feature = "precomputed-tables")]
use crate::backend::serial::curve_models::AffineNielsPoint;
#[cfg(feature = "precomputed-tables")]
use crate::edwards::{EdwardsBasepointTable, EdwardsPoint};

cfg_if! {
    if #[cfg(curve25519_dalek_backend = "fiat")] {
        #[cfg(curve25519_dalek_bits = "32")]
        pub use crate::backend::serial::fiat_u32::constants::*;
        #[cfg(curve25519_dalek_bits = "64")]
        pub use crate::backend::serial::fiat_u64::constants::*;
    } else {
        #[cfg(curve25519_dalek_bits = "32")]
        pub use crate::backend::serial::u32::constants::*;
        #[cfg(curve25519_dalek_bits = "64")]
        pub use crate::backend::serial::u64::constants::*;
    }
}

/// The Ed25519 basepoint, in `CompressedEdwardsY` format.
///
/// This is the little-endian byte encoding of \\( 4/5 \pmod p \\),
/// which is the \\(y\\)-coordinate of the Ed25519 basepoint.
///
/// The sign bit is 0 since the basepoint has \\(x\\) chosen to be positive.
pub const ED25519_BASEPOINT_COMPRESSED: CompressedEdwardsY = CompressedEdwardsY([
    0x58, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
    0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
]);

/// The X25519 basepoint, in `MontgomeryPoint` format.
pub const X25519_BASEPOINT: MontgomeryPoint = MontgomeryPoint([
    0x09, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
]);

/// The Ristretto basepoint, in `CompressedRistretto` format.
pub const RISTRETTO_BASEPOINT_COMPRESSED: CompressedRistretto = CompressedRistretto([
    0xe2, 0xf2, 0xae, 0x0a, 0x6a, 0xbc, 0x4e, 0x71, 0xa8, 0x84, 0xa9, 0x61, 0xc5, 0x00, 0x51, 0x5f,
    0x58, 0xe3, 0x0b, 0x6a, 0xa5, 0x82, 0xdd, 0x8d, 0xb6, 0xa6, 0x59, 0x45, 0xe0, 0x8d, 0x2d, 0x76,
]);

/// The Ristretto basepoint, as a `RistrettoPoint`.
///
/// This is called `_POINT` to distinguish it from `_TABLE`, which
/// provides fast scalar multiplication.
pub const RISTRETTO_BASEPOINT_POINT: RistrettoPoint = RistrettoPoint(ED25519_BASEPOINT_POINT);

/// `BASEPOINT_ORDER` is the order of the Ristretto group and of the Ed25519 basepoint, i.e.,
/// $$
/// \ell = 2^\{252\} + 27742317777372353535851937790883648493.
/// $$
pub(crate) const BASEPOINT_ORDER: Scalar = Scalar {
    bytes: [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde,
        0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x10,
    ],
};

#[cfg(feature = "precomputed-tables")]
use crate::ristretto::RistrettoBasepointTable;

// PIÑATA PATCH: the basepoint tables are computed at first use.
//
// Upstream stores `ED25519_BASEPOINT_TABLE` as a constant (30 KB of
// `.rodata` with the 64-bit backends, 21 KB with the 32-bit ones) and
// `RISTRETTO_BASEPOINT_TABLE` as the same bytes cast to the Ristretto
// newtype. Here both are `spin::Once` cells, all zeros until first use, so
// they live in `.bss` and add nothing to the binary; the first fixed-base
// multiplication builds the table (the values `BasepointTable::create`, which
// upstream's constant was generated with, gives, with fewer inversions) and
// every later one reads it after one atomic load. Callers write `&*ED25519_BASEPOINT_TABLE` where
// upstream's was already a reference. See the piñata's third_party/README.md.

/// A basepoint table computed at first use (dereference it to use it).
///
/// A `spin::Once` with no initialiser stored beside it: an all-zero static,
/// so it takes no space in the binary until it is filled.
#[cfg(feature = "precomputed-tables")]
pub struct BasepointTableOnce<T>(spin::Once<T>);

#[cfg(feature = "precomputed-tables")]
impl core::ops::Deref for BasepointTableOnce<EdwardsBasepointTable> {
    type Target = EdwardsBasepointTable;

    fn deref(&self) -> &EdwardsBasepointTable {
        self.0.call_once(ed25519_basepoint_table)
    }
}

#[cfg(feature = "precomputed-tables")]
impl core::ops::Deref for BasepointTableOnce<RistrettoBasepointTable> {
    type Target = RistrettoBasepointTable;

    fn deref(&self) -> &RistrettoBasepointTable {
        // The Ristretto basepoint is the Ed25519 one (upstream's table was
        // the same bytes).
        self.0
            .call_once(|| RistrettoBasepointTable(ed25519_basepoint_table()))
    }
}

/// `EdwardsBasepointTable::create(&ED25519_BASEPOINT_POINT)`, faster: each
/// of the 32 rows holds `P, 2P, …, 8P` (`P = 256^i B`) as affine Niels
/// points, and `create` pays one field inversion per point (256); here the
/// points are computed in extended coordinates and brought to affine ones
/// [`BATCH`] at a time, with one inversion per batch (8 in all).
#[cfg(feature = "precomputed-tables")]
fn ed25519_basepoint_table() -> EdwardsBasepointTable {
    use crate::window::LookupTable;

    let mut table = EdwardsBasepointTable([LookupTable::default(); 32]);
    let mut row_base = ED25519_BASEPOINT_POINT;
    for rows in table.0.chunks_mut(BATCH / 8) {
        let mut multiples = [ED25519_BASEPOINT_POINT; BATCH];
        for row in multiples.chunks_mut(8) {
            let step = row_base.as_projective_niels();
            row[0] = row_base;
            for j in 1..8 {
                row[j] = (&row[j - 1] + &step).as_extended();
            }
            row_base = row_base.mul_by_pow_2(8);
        }
        let entries = rows.iter_mut().flat_map(|row| row.0.iter_mut());
        for (entry, point) in entries.zip(affine_niels_batch(&multiples)) {
            *entry = point;
        }
    }
    table
}

/// Odd multiples of the basepoint `[B, 3B, 5B, 7B, 9B, 11B, 13B, 15B, ..., 127B]`,
/// for variable-time double-base multiplication (signature verification),
/// computed at first use (upstream: a 7.5 KB constant).
#[cfg(feature = "precomputed-tables")]
pub(crate) fn affine_odd_multiples_of_basepoint()
-> &'static crate::window::NafLookupTable8<AffineNielsPoint> {
    use crate::window::NafLookupTable8;

    static TABLE: spin::Once<NafLookupTable8<AffineNielsPoint>> = spin::Once::new();
    TABLE.call_once(|| {
        let mut table = NafLookupTable8([AffineNielsPoint::default(); 64]);
        let twice = ED25519_BASEPOINT_POINT.double().as_projective_niels();
        let mut odd = ED25519_BASEPOINT_POINT;
        for entries in table.0.chunks_mut(BATCH) {
            let mut points = [odd; BATCH];
            for j in 1..BATCH {
                points[j] = (&points[j - 1] + &twice).as_extended();
            }
            odd = (&points[BATCH - 1] + &twice).as_extended();
            entries.copy_from_slice(&affine_niels_batch(&points));
        }
        table
    })
}

/// Points per batch inversion in the table builders: 32 extended points
/// (5 KiB) on the stack.
#[cfg(feature = "precomputed-tables")]
const BATCH: usize = 32;

/// `points` in affine Niels form, with one field inversion for all of them
/// (Montgomery's trick: upstream's `FieldElement::invert_batch`) instead of
/// one each. The points here are public (multiples of the basepoint), so
/// nothing needs to be constant-time.
#[cfg(feature = "precomputed-tables")]
fn affine_niels_batch(points: &[EdwardsPoint; BATCH]) -> [AffineNielsPoint; BATCH] {
    use crate::field::FieldElement;

    let mut z_inverses = points.map(|point| point.Z);
    FieldElement::invert_batch(&mut z_inverses);
    core::array::from_fn(|i| {
        let x = &points[i].X * &z_inverses[i];
        let y = &points[i].Y * &z_inverses[i];
        AffineNielsPoint {
            y_plus_x: &y + &x,
            y_minus_x: &y - &x,
            xy2d: &(&x * &y) * &EDWARDS_D2,
        }
    })
}

/// Table containing precomputed multiples of the Ed25519 basepoint \\(B = (x, 4/5)\\),
/// computed at first use.
#[cfg(feature = "precomputed-tables")]
pub static ED25519_BASEPOINT_TABLE: BasepointTableOnce<EdwardsBasepointTable> =
    BasepointTableOnce(spin::Once::new());

/// The Ristretto basepoint, as a `RistrettoBasepointTable` for scalar multiplication,
/// computed at first use.
#[cfg(feature = "precomputed-tables")]
pub static RISTRETTO_BASEPOINT_TABLE: BasepointTableOnce<RistrettoBasepointTable> =
    BasepointTableOnce(spin::Once::new());

/// X25519 low order points.
///
/// The output of any scalar multiplied by these points is zero. Protocols which need to ensure
/// "contributory" behavior should reject these points.
///
/// Table adapted from <https://cr.yp.to/ecdh.html>.
#[rustfmt::skip]
pub static X25519_LOW_ORDER_POINTS: [MontgomeryPoint; 7] = [
    // 0 (order 4)
    MontgomeryPoint([0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00]),

    // 1 (order 1)
    MontgomeryPoint([0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00]),

    // 325606250916557431795983626356110631294008115727848805560023387167927233504 (order 8)
    MontgomeryPoint([0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3, 0xfa, 0xf1, 0x9f, 0xc4, 0x6a, 0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32, 0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49, 0xb8, 0x00]),

    // 39382357235489614581723060781553021112529911719440698176882885853963445705823 (order 8)
    MontgomeryPoint([0x5f, 0x9c, 0x95, 0xbc, 0xa3, 0x50, 0x8c, 0x24, 0xb1, 0xd0, 0xb1, 0x55, 0x9c, 0x83, 0xef, 0x5b, 0x04, 0x44, 0x5c, 0xc4, 0x58, 0x1c, 0x8e, 0x86, 0xd8, 0x22, 0x4e, 0xdd, 0xd0, 0x9f, 0x11, 0x57]),

    // p - 1 (order 2)
    MontgomeryPoint([0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]),

    // p (order 4)
    MontgomeryPoint([0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]),

    // p + 1 (order 1)
    MontgomeryPoint([0xee, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f])
];

#[cfg(test)]
mod test {
    use crate::constants;

    /// PIÑATA PATCH: the batch-inverted table is upstream's `create`.
    #[test]
    #[cfg(feature = "precomputed-tables")]
    fn ed25519_basepoint_table_is_create() {
        use crate::edwards::EdwardsBasepointTable;
        use crate::traits::BasepointTable;

        let created = EdwardsBasepointTable::create(&constants::ED25519_BASEPOINT_POINT);
        let fast = super::ed25519_basepoint_table();
        for (created_row, fast_row) in created.0.iter().zip(fast.0.iter()) {
            for (a, b) in created_row.0.iter().zip(fast_row.0.iter()) {
                assert_eq!(a.y_plus_x.to_bytes(), b.y_plus_x.to_bytes());
                assert_eq!(a.y_minus_x.to_bytes(), b.y_minus_x.to_bytes());
                assert_eq!(a.xy2d.to_bytes(), b.xy2d.to_bytes());
            }
        }
        assert_eq!(
            constants::ED25519_BASEPOINT_TABLE.basepoint(),
            constants::ED25519_BASEPOINT_POINT
        );
    }

    /// PIÑATA PATCH: the batch-inverted odd multiples are upstream's
    /// `NafLookupTable8::from`, from which its constant was generated.
    #[test]
    #[cfg(feature = "precomputed-tables")]
    fn affine_odd_multiples_of_basepoint_are_from() {
        use crate::backend::serial::curve_models::AffineNielsPoint;
        use crate::window::NafLookupTable8;

        let from = NafLookupTable8::<AffineNielsPoint>::from(&constants::ED25519_BASEPOINT_POINT);
        let fast = super::affine_odd_multiples_of_basepoint();
        for (a, b) in from.0.iter().zip(fast.0.iter()) {
            assert_eq!(a.y_plus_x.to_bytes(), b.y_plus_x.to_bytes());
            assert_eq!(a.y_minus_x.to_bytes(), b.y_minus_x.to_bytes());
            assert_eq!(a.xy2d.to_bytes(), b.xy2d.to_bytes());
        }
    }
    use crate::field::FieldElement;
    use crate::montgomery::MontgomeryPoint;
    use crate::traits::{IsIdentity, ValidityCheck};

    #[test]
    fn test_eight_torsion() {
        for i in 0..8 {
            let Q = constants::EIGHT_TORSION[i].mul_by_pow_2(3);
            assert!(Q.is_valid());
            assert!(Q.is_identity());
        }
    }

    #[test]
    fn test_four_torsion() {
        for i in (0..8).filter(|i| i % 2 == 0) {
            let Q = constants::EIGHT_TORSION[i].mul_by_pow_2(2);
            assert!(Q.is_valid());
            assert!(Q.is_identity());
        }
    }

    #[test]
    fn test_two_torsion() {
        for i in (0..8).filter(|i| i % 4 == 0) {
            let Q = constants::EIGHT_TORSION[i].mul_by_pow_2(1);
            assert!(Q.is_valid());
            assert!(Q.is_identity());
        }
    }

    /// Test that SQRT_M1 is the positive square root of -1
    #[test]
    fn test_sqrt_minus_one() {
        let minus_one = FieldElement::MINUS_ONE;
        let sqrt_m1_sq = &constants::SQRT_M1 * &constants::SQRT_M1;
        assert_eq!(minus_one, sqrt_m1_sq);
        assert!(bool::from(!constants::SQRT_M1.is_negative()));
    }

    #[test]
    fn test_sqrt_constants_sign() {
        let minus_one = FieldElement::MINUS_ONE;
        let (was_nonzero_square, invsqrt_m1) = minus_one.invsqrt();
        assert!(bool::from(was_nonzero_square));
        let sign_test_sqrt = &invsqrt_m1 * &constants::SQRT_M1;
        assert_eq!(sign_test_sqrt, minus_one);
    }

    /// Test that d = -121665/121666
    #[test]
    #[cfg(all(curve25519_dalek_bits = "32", not(curve25519_dalek_backend = "fiat")))]
    fn test_d_vs_ratio() {
        use crate::backend::serial::u32::field::FieldElement2625;
        let a = -&FieldElement2625([121665, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        let b = FieldElement2625([121666, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        let d = &a * &b.invert();
        let d2 = &d + &d;
        assert_eq!(d, constants::EDWARDS_D);
        assert_eq!(d2, constants::EDWARDS_D2);
    }

    /// Test that d = -121665/121666
    #[test]
    #[cfg(all(curve25519_dalek_bits = "64", not(curve25519_dalek_backend = "fiat")))]
    fn test_d_vs_ratio() {
        use crate::backend::serial::u64::field::FieldElement51;
        let a = -&FieldElement51([121665, 0, 0, 0, 0]);
        let b = FieldElement51([121666, 0, 0, 0, 0]);
        let d = &a * &b.invert();
        let d2 = &d + &d;
        assert_eq!(d, constants::EDWARDS_D);
        assert_eq!(d2, constants::EDWARDS_D2);
    }

    #[test]
    fn test_sqrt_ad_minus_one() {
        let a = FieldElement::MINUS_ONE;
        let ad_minus_one = &(&a * &constants::EDWARDS_D) + &a;
        let should_be_ad_minus_one = constants::SQRT_AD_MINUS_ONE.square();
        assert_eq!(should_be_ad_minus_one, ad_minus_one);
    }

    #[test]
    fn low_order_point_scalar_mul() {
        // Example scalar from RFC7748 § 5.2
        let scalar = [
            0xa5, 0x46, 0xe3, 0x6b, 0xf0, 0x52, 0x7c, 0x9d, 0x3b, 0x16, 0x15, 0x4b, 0x82, 0x46,
            0x5e, 0xdd, 0x62, 0x14, 0x4c, 0x0a, 0xc1, 0xfc, 0x5a, 0x18, 0x50, 0x6a, 0x22, 0x44,
            0xba, 0x44, 0x9a, 0xc4,
        ];

        for low_order_point in constants::X25519_LOW_ORDER_POINTS {
            let output = low_order_point.mul_clamped(scalar);
            assert_eq!(output, MontgomeryPoint([0; 32]));
        }
    }

    /// Test that ED25519_SQRTAM2 squared is MONTGOMERY_A_NEG - 2
    #[test]
    #[cfg(feature = "digest")]
    fn test_sqrt_a_minus_2() {
        let one = FieldElement::ONE;
        let a_minus_two = &(&constants::MONTGOMERY_A_NEG - &one) - &one;

        assert_eq!(constants::ED25519_SQRTAM2.square(), a_minus_two)
    }
}
