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

//! This module contains various constants (such as curve parameters
//! and useful field elements like `sqrt(-1)`), as well as
//! lookup tables of pre-computed points.

use super::field::FieldElement2625;
use super::scalar::Scalar29;
use crate::edwards::EdwardsPoint;

#[cfg(feature = "precomputed-tables")]
use crate::{backend::serial::curve_models::AffineNielsPoint, window::NafLookupTable8};

/// The value of minus one, equal to `-&FieldElement::ONE`
pub(crate) const MINUS_ONE: FieldElement2625 = FieldElement2625::from_limbs([
    67108844, 33554431, 67108863, 33554431, 67108863, 33554431, 67108863, 33554431, 67108863,
    33554431,
]);

/// sqrt(-486664)
#[cfg(feature = "digest")]
pub(crate) const ED25519_SQRTAM2: FieldElement2625 = FieldElement2625::from_limbs([
    54885894, 25242303, 55597453, 9067496, 51808079, 33312638, 25456129, 14121551, 54921728,
    3972023,
]);

/// Edwards `d` value, equal to `-121665/121666 mod p`.
pub(crate) const EDWARDS_D: FieldElement2625 = FieldElement2625::from_limbs([
    56195235, 13857412, 51736253, 6949390, 114729, 24766616, 60832955, 30306712, 48412415, 21499315,
]);

/// Edwards `2*d` value, equal to `2*(-121665/121666) mod p`.
pub(crate) const EDWARDS_D2: FieldElement2625 = FieldElement2625::from_limbs([
    45281625, 27714825, 36363642, 13898781, 229458, 15978800, 54557047, 27058993, 29715967, 9444199,
]);

/// One minus edwards `d` value squared, equal to `(1 - (-121665/121666) mod p) pow 2`
pub(crate) const ONE_MINUS_EDWARDS_D_SQUARED: FieldElement2625 = FieldElement2625::from_limbs([
    6275446, 16937061, 44170319, 29780721, 11667076, 7397348, 39186143, 1766194, 42675006, 672202,
]);

/// Edwards `d` value minus one squared, equal to `(((-121665/121666) mod p) - 1) pow 2`
pub(crate) const EDWARDS_D_MINUS_ONE_SQUARED: FieldElement2625 = FieldElement2625::from_limbs([
    15551776, 22456977, 53683765, 23429360, 55212328, 10178283, 40474537, 4729243, 61826754,
    23438029,
]);

/// `= sqrt(a*d - 1)`, where `a = -1 (mod p)`, `d` are the Edwards curve parameters.
pub(crate) const SQRT_AD_MINUS_ONE: FieldElement2625 = FieldElement2625::from_limbs([
    24849947, 33400850, 43495378, 6347714, 46036536, 32887293, 41837720, 18186727, 66238516,
    14525638,
]);

/// `= 1/sqrt(a-d)`, where `a = -1 (mod p)`, `d` are the Edwards curve parameters.
pub(crate) const INVSQRT_A_MINUS_D: FieldElement2625 = FieldElement2625::from_limbs([
    6111466, 4156064, 39310137, 12243467, 41204824, 120896, 20826367, 26493656, 6093567, 31568420,
]);

/// Precomputed value of one of the square roots of -1 (mod p)
pub(crate) const SQRT_M1: FieldElement2625 = FieldElement2625::from_limbs([
    34513072, 25610706, 9377949, 3500415, 12389472, 33281959, 41962654, 31548777, 326685, 11406482,
]);

/// `APLUS2_OVER_FOUR` is (A+2)/4. (This is used internally within the Montgomery ladder.)
pub(crate) const APLUS2_OVER_FOUR: FieldElement2625 =
    FieldElement2625::from_limbs([121666, 0, 0, 0, 0, 0, 0, 0, 0, 0]);

#[cfg(feature = "digest")]
/// `MONTGOMERY_A` is equal to 486662, which is a constant of the curve equation
/// for Curve25519 in its Montgomery form. (This is used internally within the
/// Elligator map.)
pub(crate) const MONTGOMERY_A: FieldElement2625 =
    FieldElement2625::from_limbs([486662, 0, 0, 0, 0, 0, 0, 0, 0, 0]);

#[cfg(feature = "digest")]
/// `MONTGOMERY_A_NEG` is equal to -486662. (This is used internally within the
/// Elligator map.)
pub(crate) const MONTGOMERY_A_NEG: FieldElement2625 = FieldElement2625::from_limbs([
    66622183, 33554431, 67108863, 33554431, 67108863, 33554431, 67108863, 33554431, 67108863,
    33554431,
]);

/// `L` is the order of base point, i.e. 2^252 +
/// 27742317777372353535851937790883648493
pub(crate) const L: Scalar29 = Scalar29([
    0x1cf5d3ed, 0x009318d2, 0x1de73596, 0x1df3bd45, 0x0000014d, 0x00000000, 0x00000000, 0x00000000,
    0x00100000,
]);

/// `L` * `LFACTOR` = -1 (mod 2^29)
pub(crate) const LFACTOR: u32 = 0x12547e1b;

/// `R` = R % L where R = 2^261
pub(crate) const R: Scalar29 = Scalar29([
    0x114df9ed, 0x1a617303, 0x0f7c098c, 0x16793167, 0x1ffd656e, 0x1fffffff, 0x1fffffff, 0x1fffffff,
    0x000fffff,
]);

/// `RR` = (R^2) % L where R = 2^261
pub(crate) const RR: Scalar29 = Scalar29([
    0x0b5f9d12, 0x1e141b17, 0x158d7f3d, 0x143f3757, 0x1972d781, 0x042feb7c, 0x1ceec73d, 0x1e184d1e,
    0x0005046d,
]);

/// The Ed25519 basepoint, as an `EdwardsPoint`.
///
/// This is called `_POINT` to distinguish it from
/// `ED25519_BASEPOINT_TABLE`, which should be used for scalar
/// multiplication (it's much faster).
pub const ED25519_BASEPOINT_POINT: EdwardsPoint = EdwardsPoint {
    X: FieldElement2625::from_limbs([
        52811034, 25909283, 16144682, 17082669, 27570973, 30858332, 40966398, 8378388, 20764389,
        8758491,
    ]),
    Y: FieldElement2625::from_limbs([
        40265304, 26843545, 13421772, 20132659, 26843545, 6710886, 53687091, 13421772, 40265318,
        26843545,
    ]),
    Z: FieldElement2625::from_limbs([1, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
    T: FieldElement2625::from_limbs([
        28827043, 27438313, 39759291, 244362, 8635006, 11264893, 19351346, 13413597, 16611511,
        27139452,
    ]),
};

/// The 8-torsion subgroup \\(\mathcal E \[8\]\\).
///
/// In the case of Curve25519, it is cyclic; the \\(i\\)-th element of
/// the array is \\([i]P\\), where \\(P\\) is a point of order \\(8\\)
/// generating \\(\mathcal E\[8\]\\).
///
/// Thus \\(\mathcal E\[4\]\\) is the points indexed by `0,2,4,6`, and
/// \\(\mathcal E\[2\]\\) is the points indexed by `0,4`.
/// The Ed25519 basepoint has y = 4/5.  This is called `_POINT` to
/// distinguish it from `_TABLE`, which should be used for scalar
/// multiplication (it's much faster).
pub const EIGHT_TORSION: [EdwardsPoint; 8] = EIGHT_TORSION_INNER_DOC_HIDDEN;

/// Inner item used to hide limb constants from cargo doc output.
#[doc(hidden)]
pub const EIGHT_TORSION_INNER_DOC_HIDDEN: [EdwardsPoint; 8] = [
    EdwardsPoint {
        X: FieldElement2625::from_limbs([0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
        Y: FieldElement2625::from_limbs([1, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
        Z: FieldElement2625::from_limbs([1, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
        T: FieldElement2625::from_limbs([0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
    },
    EdwardsPoint {
        X: FieldElement2625::from_limbs([
            21352778, 5345713, 4660180, 25206575, 24143089, 14568123, 30185756, 21306662, 33579924,
            8345318,
        ]),
        Y: FieldElement2625::from_limbs([
            6952903, 1265500, 60246523, 7057497, 4037696, 5447722, 35427965, 15325401, 19365852,
            31985330,
        ]),
        Z: FieldElement2625::from_limbs([1, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
        T: FieldElement2625::from_limbs([
            41846657, 21581751, 11716001, 27684820, 48915701, 16297738, 20670665, 24995334,
            3541542, 28543251,
        ]),
    },
    EdwardsPoint {
        X: FieldElement2625::from_limbs([
            32595773, 7943725, 57730914, 30054016, 54719391, 272472, 25146209, 2005654, 66782178,
            22147949,
        ]),
        Y: FieldElement2625::from_limbs([0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
        Z: FieldElement2625::from_limbs([1, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
        T: FieldElement2625::from_limbs([0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
    },
    EdwardsPoint {
        X: FieldElement2625::from_limbs([
            21352778, 5345713, 4660180, 25206575, 24143089, 14568123, 30185756, 21306662, 33579924,
            8345318,
        ]),
        Y: FieldElement2625::from_limbs([
            60155942, 32288931, 6862340, 26496934, 63071167, 28106709, 31680898, 18229030,
            47743011, 1569101,
        ]),
        Z: FieldElement2625::from_limbs([1, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
        T: FieldElement2625::from_limbs([
            25262188, 11972680, 55392862, 5869611, 18193162, 17256693, 46438198, 8559097, 63567321,
            5011180,
        ]),
    },
    EdwardsPoint {
        X: FieldElement2625::from_limbs([0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
        Y: FieldElement2625::from_limbs([
            67108844, 33554431, 67108863, 33554431, 67108863, 33554431, 67108863, 33554431,
            67108863, 33554431,
        ]),
        Z: FieldElement2625::from_limbs([1, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
        T: FieldElement2625::from_limbs([0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
    },
    EdwardsPoint {
        X: FieldElement2625::from_limbs([
            45756067, 28208718, 62448683, 8347856, 42965774, 18986308, 36923107, 12247769,
            33528939, 25209113,
        ]),
        Y: FieldElement2625::from_limbs([
            60155942, 32288931, 6862340, 26496934, 63071167, 28106709, 31680898, 18229030,
            47743011, 1569101,
        ]),
        Z: FieldElement2625::from_limbs([1, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
        T: FieldElement2625::from_limbs([
            41846657, 21581751, 11716001, 27684820, 48915701, 16297738, 20670665, 24995334,
            3541542, 28543251,
        ]),
    },
    EdwardsPoint {
        X: FieldElement2625::from_limbs([
            34513072, 25610706, 9377949, 3500415, 12389472, 33281959, 41962654, 31548777, 326685,
            11406482,
        ]),
        Y: FieldElement2625::from_limbs([0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
        Z: FieldElement2625::from_limbs([1, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
        T: FieldElement2625::from_limbs([0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
    },
    EdwardsPoint {
        X: FieldElement2625::from_limbs([
            45756067, 28208718, 62448683, 8347856, 42965774, 18986308, 36923107, 12247769,
            33528939, 25209113,
        ]),
        Y: FieldElement2625::from_limbs([
            6952903, 1265500, 60246523, 7057497, 4037696, 5447722, 35427965, 15325401, 19365852,
            31985330,
        ]),
        Z: FieldElement2625::from_limbs([1, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
        T: FieldElement2625::from_limbs([
            25262188, 11972680, 55392862, 5869611, 18193162, 17256693, 46438198, 8559097, 63567321,
            5011180,
        ]),
    },
];

// PIÑATA PATCH: upstream's `ED25519_BASEPOINT_TABLE` (its 32 lookup tables
// of precomputed multiples of the basepoint, 30 KB of `.rodata` in this
// backend) was here. It is computed at first use now, from
// `ED25519_BASEPOINT_POINT`: see `crate::constants::ED25519_BASEPOINT_TABLE`.

/// Odd multiples of the basepoint `[B, 3B, 5B, 7B, 9B, 11B, 13B, 15B, ..., 127B]`.
#[cfg(feature = "precomputed-tables")]
#[allow(dead_code)]
pub(crate) const AFFINE_ODD_MULTIPLES_OF_BASEPOINT: NafLookupTable8<AffineNielsPoint> =
    NafLookupTable8([
        AffineNielsPoint {
            y_plus_x: FieldElement2625::from_limbs([
                93076338, 52752828, 29566454, 37215328, 54414518, 37569218, 94653489, 21800160,
                61029707, 35602036,
            ]),
            y_minus_x: FieldElement2625::from_limbs([
                54563134, 934261, 64385954, 3049989, 66381436, 9406985, 12720692, 5043384,
                19500929, 18085054,
            ]),
            xy2d: FieldElement2625::from_limbs([
                58370664, 4489569, 9688441, 18769238, 10184608, 21191052, 29287918, 11864899,
                42594502, 29115885,
            ]),
        },
        AffineNielsPoint {
            y_plus_x: FieldElement2625::from_limbs([
                82745136, 23865874, 24204772, 25642034, 67725840, 16869169, 94896463, 52336674,
                28944398, 32004408,
            ]),
            y_minus_x: FieldElement2625::from_limbs([
                16568933, 4717097, 55552716, 32452109, 15682895, 21747389, 16354576, 21778470,
                7689661, 11199574,
            ]),
            xy2d: FieldElement2625::from_limbs([
                30464137, 27578307, 55329429, 17883566, 23220364, 15915852, 7512774, 10017326,
                49359771, 23634074,
            ]),
        },
        AffineNielsPoint {
            y_plus_x: FieldElement2625::from_limbs([
                77970208, 11473153, 27284546, 35535607, 37044514, 46132292, 99976748, 48069538,
                118779423, 44373810,
            ]),
            y_minus_x: FieldElement2625::from_limbs([
                4708026, 6336745, 20377586, 9066809, 55836755, 6594695, 41455196, 12483687,
                54440373, 5581305,
            ]),
            xy2d: FieldElement2625::from_limbs([
                19563141, 16186464, 37722007, 4097518, 10237984, 29206317, 28542349, 13850243,
                43430843, 17738489,
            ]),
        },
        AffineNielsPoint {
            y_plus_x: FieldElement2625::from_limbs([
                72262591, 43463716, 68832610, 30776557, 97632468, 39071304, 86589715, 38784565,
                43156424, 18378665,
            ]),
            y_minus_x: FieldElement2625::from_limbs([
                36839857, 30090922, 7665485, 10083793, 28475525, 1649722, 20654025, 16520125,
                30598449, 7715701,
            ]),
            xy2d: FieldElement2625::from_limbs([
                28881826, 14381568, 9657904, 3680757, 46927229, 7843315, 35708204, 1370707,
                29794553, 32145132,
            ]),
        },
        AffineNielsPoint {
            y_plus_x: FieldElement2625::from_limbs([
                44589852, 26862249, 14201701, 24808930, 43598457, 42399157, 85583074, 32192981,
                54046167, 47376308,
            ]),
            y_minus_x: FieldElement2625::from_limbs([
                60653668, 25714560, 3374701, 28813570, 40010246, 22982724, 31655027, 26342105,
                18853321, 19333481,
            ]),
            xy2d: FieldElement2625::from_limbs([
                4566811, 20590564, 38133974, 21313742, 59506191, 30723862, 58594505, 23123294,
                2207752, 30344648,
            ]),
        },
        AffineNielsPoint {
            y_plus_x: FieldElement2625::from_limbs([
                41954014, 62923042, 96790006, 41423232, 60254202, 24130566, 121780363, 32891430,
                103106264, 17421994,
            ]),
            y_minus_x: FieldElement2625::from_limbs([
                25576264, 30851218, 7349803, 21739588, 16472781, 9300885, 3844789, 15725684,
                171356, 6466918,
            ]),
            xy2d: FieldElement2625::from_limbs([
                23103977, 13316479, 9739013, 17404951, 817874, 18515490, 8965338, 19466374,
                36393951, 16193876,
            ]),
        },
        AffineNielsPoint {
            y_plus_x: FieldElement2625::from_limbs([
                100695917, 36735143, 64714733, 47558118, 50205389, 17283591, 84347261, 38283886,
                49034350, 9256799,
            ]),
            y_minus_x: FieldElement2625::from_limbs([
                41926547, 29380300, 32336397, 5036987, 45872047, 11360616, 22616405, 9761698,
                47281666, 630304,
            ]),
            xy2d: FieldElement2625::from_limbs([
                53388152, 2639452, 42871404, 26147950, 9494426, 27780403, 60554312, 17593437,
                64659607, 19263131,
            ]),
        },
        AffineNielsPoint {
            y_plus_x: FieldElement2625::from_limbs([
                63957664, 28508356, 76391577, 40420576, 102310665, 32691407, 48168288, 15033783,
                92213982, 25659555,
            ]),
            y_minus_x: FieldElement2625::from_limbs([
                42782475, 15950225, 35307649, 18961608, 55446126, 28463506, 1573891, 30928545,
                2198789, 17749813,
            ]),
            xy2d: FieldElement2625::from_limbs([
                64009494, 10324966, 64867251, 7453182, 61661885, 30818928, 53296841, 17317989,
                34647629, 21263748,
            ]),
        },
        AffineNielsPoint {
            y_plus_x: FieldElement2625::from_limbs([
                17735022, 27114469, 76149336, 40765111, 43325570, 26153544, 26948151, 45905235,
                38656900, 62179684,
            ]),
            y_minus_x: FieldElement2625::from_limbs([
                2154119, 14782993, 28737794, 11906199, 36205504, 26488101, 19338132, 16910143,
                50209922, 29794297,
            ]),
            xy2d: FieldElement2625::from_limbs([
                29935700, 6336041, 20999566, 30405369, 13628497, 24612108, 61639745, 22359641,
                56973806, 18684690,
            ]),
        },
        AffineNielsPoint {
            y_plus_x: FieldElement2625::from_limbs([
                29792811, 31379227, 113441390, 20675662, 58452680, 54138549, 42892249, 32958636,
                31674345, 24275271,
            ]),
            y_minus_x: FieldElement2625::from_limbs([
                7606599, 22131225, 17376912, 15235046, 32822971, 7512882, 30227203, 14344178,
                9952094, 8804749,
            ]),
            xy2d: FieldElement2625::from_limbs([
                32575079, 3961822, 36404898, 17773250, 67073898, 1319543, 30641032, 7823672,
                63309858, 18878784,
            ]),
        },
        AffineNielsPoint {
            y_plus_x: FieldElement2625::from_limbs([
                77823924, 52933642, 26572931, 18690221, 109143683, 23989794, 79129572, 53326100,
                38888709, 55889506,
            ]),
            y_minus_x: FieldElement2625::from_limbs([
                37146997, 554126, 63326061, 20925660, 49205290, 8620615, 53375504, 25938867,
                8752612, 31225894,
            ]),
            xy2d: FieldElement2625::from_limbs([
                4529887, 12416158, 60388162, 30157900, 15427957, 27628808, 61150927, 12724463,
                23658330, 23690055,
            ]),
        },
        AffineNielsPoint {
            y_plus_x: FieldElement2625::from_limbs([
                102043267, 54823614, 45810225, 19657305, 54297192, 7413280, 66851983, 39718512,
                25005048, 18002658,
            ]),
            y_minus_x: FieldElement2625::from_limbs([
                5403481, 24654166, 61855580, 13522652, 14989680, 1879017, 43913069, 25724172,
                20315901, 421248,
            ]),
            xy2d: FieldElement2625::from_limbs([
                34818947, 1705239, 25347020, 7938434, 51632025, 1720023, 54809726, 32655885,
                64907986, 5517607,
            ]),
        },
        AffineNielsPoint {
            y_plus_x: FieldElement2625::from_limbs([
                88543525, 16557377, 80359887, 30047148, 91602876, 27723948, 62710290, 52707861,
                7715736, 61648232,
            ]),
            y_minus_x: FieldElement2625::from_limbs([
                14461032, 6393639, 22681353, 14533514, 52493587, 3544717, 57780998, 24657863,
                59891807, 31628125,
            ]),
            xy2d: FieldElement2625::from_limbs([
                60864886, 31199953, 18524951, 11247802, 43517645, 21165456, 26204394, 27268421,
                63221077, 29979135,
            ]),
        },
        AffineNielsPoint {
            y_plus_x: FieldElement2625::from_limbs([
                97491378, 10077555, 94805128, 42472719, 30231379, 17961119, 76201413, 41182329,
                41405214, 31798052,
            ]),
            y_minus_x: FieldElement2625::from_limbs([
                13670592, 720327, 7131696, 19360499, 66651570, 16947532, 3061924, 22871019,
                39814495, 20141336,
            ]),
            xy2d: FieldElement2625::from_limbs([
                44847187, 28379568, 38472030, 23697331, 49441718, 3215393, 1669253, 30451034,
                62323912, 29368533,
            ]),
        },
        AffineNielsPoint {
            y_plus_x: FieldElement2625::from_limbs([
                74923758, 35244493, 27222384, 30715870, 48444195, 28125622, 116052444, 32330148,
                92609232, 35372537,
            ]),
            y_minus_x: FieldElement2625::from_limbs([
                39340596, 15199968, 52787715, 18781603, 18787729, 5464578, 11652644, 8722118,
                57056621, 5153960,
            ]),
            xy2d: FieldElement2625::from_limbs([
                5733861, 14534448, 59480402, 15892910, 30737296, 188529, 491756, 17646733,
                33071791, 15771063,
            ]),
        },
        AffineNielsPoint {
            y_plus_x: FieldElement2625::from_limbs([
                85239571, 21331573, 119690709, 30172286, 44350959, 55826224, 68258766, 16209406,
                20222151, 32139086,
            ]),
            y_minus_x: FieldElement2625::from_limbs([
                52372801, 13847470, 52690845, 3802477, 48387139, 10595589, 13745896, 3112846,
                50361463, 2761905,
            ]),
            xy2d: FieldElement2625::from_limbs([
                45982696, 12273933, 15897066, 704320, 31367969, 3120352, 11710867, 16405685,
                19410991, 10591627,
            ]),
        },
        AffineNielsPoint {
            y_plus_x: FieldElement2625::from_limbs([
                82008850, 34439758, 89319886, 49124188, 34309215, 29866047, 80308709, 27738519,
                71739865, 46909287,
            ]),
            y_minus_x: FieldElement2625::from_limbs([
                36631997, 23300851, 59535242, 27474493, 59924914, 29067704, 17551261, 13583017,
                37580567, 31071178,
            ]),
            xy2d: FieldElement2625::from_limbs([
                22641770, 21277083, 10843473, 1582748, 37504588, 634914, 15612385, 18139122,
                59415250, 22563863,
            ]),
        },
        AffineNielsPoint {
            y_plus_x: FieldElement2625::from_limbs([
                76721854, 52814714, 41722368, 35285867, 53022548, 38255176, 93163883, 27627617,
                87963092, 33729456,
            ]),
            y_minus_x: FieldElement2625::from_limbs([
                61915349, 11733561, 59403492, 31381562, 29521830, 16845409, 54973419, 26057054,
                49464700, 796779,
            ]),
            xy2d: FieldElement2625::from_limbs([
                3855018, 8248512, 12652406, 88331, 2948262, 971326, 15614761, 9441028, 29507685,
                8583792,
            ]),
        },
        AffineNielsPoint {
            y_plus_x: FieldElement2625::from_limbs([
                76968870, 14808584, 76708906, 57649718, 23400175, 24077237, 63783137, 37471119,
                56750251, 30681804,
            ]),
            y_minus_x: FieldElement2625::from_limbs([
                33709664, 3740344, 52888604, 25059045, 46197996, 22678812, 45207164, 6431243,
                21300862, 27646257,
            ]),
            xy2d: FieldElement2625::from_limbs([
                49811511, 9216232, 25043921, 18738174, 29145960, 3024227, 65580502, 530149,
                66809973, 22275500,
            ]),
        },
        AffineNielsPoint {
            y_plus_x: FieldElement2625::from_limbs([
                23499366, 24936714, 38355445, 35908587, 82540167, 39280880, 46809413, 41143783,
                72530804, 49676198,
            ]),
            y_minus_x: FieldElement2625::from_limbs([
                45162189, 23851397, 9380591, 15192763, 36034862, 15525765, 5277811, 25040629,
                33286237, 31693326,
            ]),
            xy2d: FieldElement2625::from_limbs([
                62424427, 13336013, 49368582, 1581264, 30884213, 15048226, 66823504, 4736577,
                53805192, 29608355,
            ]),
        },
        AffineNielsPoint {
            y_plus_x: FieldElement2625::from_limbs([
                25190215, 26304748, 58928336, 42665707, 64280342, 38580230, 61299598, 20659504,
                30387592, 32519377,
            ]),
            y_minus_x: FieldElement2625::from_limbs([
                14480213, 17057820, 2286692, 32980967, 14693157, 22197912, 49247898, 9909859,
                236428, 16857435,
            ]),
            xy2d: FieldElement2625::from_limbs([
                7877514, 29872867, 45886243, 25902853, 41998762, 6241604, 35694938, 15657879,
                56797932, 8609105,
            ]),
        },
        AffineNielsPoint {
            y_plus_x: FieldElement2625::from_limbs([
                54245189, 32562161, 57887697, 19509733, 45323534, 37472546, 27606727, 59528498,
                74398957, 44973176,
            ]),
            y_minus_x: FieldElement2625::from_limbs([
                28964163, 20950093, 44929966, 26145892, 34786807, 18058153, 18187179, 27016486,
                42438836, 14869174,
            ]),
            xy2d: FieldElement2625::from_limbs([
                55703901, 1222455, 64329400, 24533246, 11330890, 9135834, 3589529, 19555234,
                53275553, 1207212,
            ]),
        },
        AffineNielsPoint {
            y_plus_x: FieldElement2625::from_limbs([
                33323313, 35603165, 79328585, 6017848, 71286345, 23804207, 86644124, 44008367,
                55775078, 31816581,
            ]),
            y_minus_x: FieldElement2625::from_limbs([
                64814718, 27217688, 29891310, 4504619, 8548709, 21986323, 62140656, 12555980,
                34377058, 21436823,
            ]),
            xy2d: FieldElement2625::from_limbs([
                49069441, 9880212, 33350825, 24576421, 24446077, 15616561, 19302117, 9370836,
                55172180, 28526191,
            ]),
        },
        AffineNielsPoint {
            y_plus_x: FieldElement2625::from_limbs([
                95404934, 26757208, 123864063, 4572839, 69249194, 43584425, 53559055, 41742046,
                41167331, 24643278,
            ]),
            y_minus_x: FieldElement2625::from_limbs([
                35101859, 30958612, 66105296, 3168612, 22836264, 10055966, 22893634, 13045780,
                28576558, 30704591,
            ]),
            xy2d: FieldElement2625::from_limbs([
                59987873, 21166324, 43296694, 15387892, 39447987, 19996270, 5059183, 19972934,
                30207804, 29631666,
            ]),
        },
        AffineNielsPoint {
            y_plus_x: FieldElement2625::from_limbs([
                67444156, 16132892, 88330413, 37924284, 68147855, 57949418, 91481571, 24889160,
                62329722, 50712214,
            ]),
            y_minus_x: FieldElement2625::from_limbs([
                56922508, 1347520, 23300731, 27393371, 42651667, 8512932, 27610931, 24436993,
                3998295, 3835244,
            ]),
            xy2d: FieldElement2625::from_limbs([
                16327050, 22776956, 14746360, 22599650, 23700920, 11727222, 25900154, 21823218,
                34907363, 25105813,
            ]),
        },
        AffineNielsPoint {
            y_plus_x: FieldElement2625::from_limbs([
                59807886, 12089757, 115624210, 41476837, 67589715, 26361580, 71355762, 44268661,
                67753061, 13128476,
            ]),
            y_minus_x: FieldElement2625::from_limbs([
                7174885, 26592113, 59892333, 6465478, 4145835, 17673606, 38764952, 22293290,
                1360980, 25805937,
            ]),
            xy2d: FieldElement2625::from_limbs([
                40179568, 6331649, 42386021, 20205884, 15635073, 6103612, 56391180, 6789942,
                7597240, 24095312,
            ]),
        },
        AffineNielsPoint {
            y_plus_x: FieldElement2625::from_limbs([
                54776568, 36935932, 18757261, 41429535, 67215081, 34700142, 86560976, 61204154,
                26496794, 19612129,
            ]),
            y_minus_x: FieldElement2625::from_limbs([
                46701540, 24101444, 49515651, 25946994, 45338156, 9941093, 55509371, 31298943,
                1347425, 15381335,
            ]),
            xy2d: FieldElement2625::from_limbs([
                53576449, 26135856, 17092785, 3684747, 57829121, 27109516, 2987881, 10987137,
                52269096, 15465522,
            ]),
        },
        AffineNielsPoint {
            y_plus_x: FieldElement2625::from_limbs([
                80033010, 26264316, 72380996, 10039544, 94605936, 30615493, 60406855, 30400829,
                120765849, 45301372,
            ]),
            y_minus_x: FieldElement2625::from_limbs([
                35668062, 24246990, 47788280, 25128298, 37456967, 19518969, 43459670, 10724644,
                7294162, 4471290,
            ]),
            xy2d: FieldElement2625::from_limbs([
                33813988, 3549109, 101112, 21464449, 4858392, 3029943, 59999440, 21424738,
                34313875, 1512799,
            ]),
        },
        AffineNielsPoint {
            y_plus_x: FieldElement2625::from_limbs([
                29494960, 28240930, 51093230, 28823678, 92791151, 54796794, 77571888, 37795542,
                75765856, 10649531,
            ]),
            y_minus_x: FieldElement2625::from_limbs([
                63536751, 7572551, 62249759, 25202639, 32046232, 32318941, 29315141, 15424555,
                24706712, 28857648,
            ]),
            xy2d: FieldElement2625::from_limbs([
                47618751, 5819839, 19528172, 20715950, 40655763, 20611047, 4960954, 6496879,
                2790858, 28045273,
            ]),
        },
        AffineNielsPoint {
            y_plus_x: FieldElement2625::from_limbs([
                85174457, 55843901, 111946683, 31021158, 32797785, 48944265, 78338887, 31144772,
                82688001, 38470222,
            ]),
            y_minus_x: FieldElement2625::from_limbs([
                49664705, 3638040, 57888693, 19234931, 40104182, 28143840, 28667142, 18386877,
                18584835, 3592929,
            ]),
            xy2d: FieldElement2625::from_limbs([
                12065039, 18867394, 6430594, 17107159, 1727094, 13096957, 61520237, 27056604,
                27026997, 13543966,
            ]),
        },
        AffineNielsPoint {
            y_plus_x: FieldElement2625::from_limbs([
                68512926, 37577278, 94695528, 14209106, 95849194, 30038709, 51818051, 20241476,
                68980056, 42251074,
            ]),
            y_minus_x: FieldElement2625::from_limbs([
                17325298, 33376175, 65271265, 4931225, 31708266, 6292284, 23064744, 22072792,
                43945505, 9236924,
            ]),
            xy2d: FieldElement2625::from_limbs([
                51955585, 20268063, 61151838, 26383348, 4766519, 20788033, 21173534, 27030753,
                9509140, 7790046,
            ]),
        },
        AffineNielsPoint {
            y_plus_x: FieldElement2625::from_limbs([
                24124086, 38918775, 28620390, 10538620, 59433851, 19581010, 60862718, 43500219,
                77600721, 32213801,
            ]),
            y_minus_x: FieldElement2625::from_limbs([
                7062127, 13930079, 2259902, 6463144, 32137099, 24748848, 41557343, 29331342,
                47345194, 13022814,
            ]),
            xy2d: FieldElement2625::from_limbs([
                18921826, 392002, 55817981, 6420686, 8000611, 22415972, 14722962, 26246290,
                20604450, 8079345,
            ]),
        },
        AffineNielsPoint {
            y_plus_x: FieldElement2625::from_limbs([
                67710253, 26257798, 51499391, 46550521, 30228769, 53940987, 76234206, 43362242,
                77953697, 21034392,
            ]),
            y_minus_x: FieldElement2625::from_limbs([
                25817710, 8020883, 50134679, 21244805, 47057788, 8766556, 29308546, 22307963,
                49449920, 23874253,
            ]),
            xy2d: FieldElement2625::from_limbs([
                11081015, 13522660, 12474691, 29260223, 48687631, 9341946, 16850694, 18637605,
                6199839, 14303642,
            ]),
        },
        AffineNielsPoint {
            y_plus_x: FieldElement2625::from_limbs([
                64518173, 19894035, 117213833, 43031641, 79641718, 39533880, 66531934, 41205092,
                117735515, 13989682,
            ]),
            y_minus_x: FieldElement2625::from_limbs([
                6921800, 4421166, 59739491, 30510778, 43106355, 30941531, 9363541, 3394240,
                50874187, 23872585,
            ]),
            xy2d: FieldElement2625::from_limbs([
                54293979, 23466866, 47184247, 20627378, 8313211, 5865878, 5948507, 32290343,
                52583140, 23139870,
            ]),
        },
        AffineNielsPoint {
            y_plus_x: FieldElement2625::from_limbs([
                111574723, 24134616, 49842442, 23485580, 34844037, 45228427, 67103167, 25858409,
                38508586, 35097070,
            ]),
            y_minus_x: FieldElement2625::from_limbs([
                19879846, 15259900, 25020018, 14261729, 22075205, 25189303, 787540, 31325033,
                62422289, 16131171,
            ]),
            xy2d: FieldElement2625::from_limbs([
                39487053, 27893575, 34654176, 25620816, 60209846, 23603919, 8931189, 12275052,
                38626469, 33438928,
            ]),
        },
        AffineNielsPoint {
            y_plus_x: FieldElement2625::from_limbs([
                105416367, 9568747, 62672739, 49685015, 106242995, 4547918, 18403901, 38581738,
                60829966, 33150322,
            ]),
            y_minus_x: FieldElement2625::from_limbs([
                7950033, 25841033, 47276506, 3884935, 62418883, 2342083, 50269031, 14194015,
                27013685, 3320257,
            ]),
            xy2d: FieldElement2625::from_limbs([
                35270691, 18076829, 46994271, 4273335, 43595882, 31742297, 58328702, 4594760,
                49180851, 18144010,
            ]),
        },
        AffineNielsPoint {
            y_plus_x: FieldElement2625::from_limbs([
                30194115, 50068680, 49746331, 27470090, 40428285, 23271051, 70252167, 16153483,
                123511881, 27809602,
            ]),
            y_minus_x: FieldElement2625::from_limbs([
                27113466, 6865046, 4512771, 29327742, 29021084, 7405965, 33302911, 9322435,
                4307527, 32438240,
            ]),
            xy2d: FieldElement2625::from_limbs([
                29337813, 24673346, 10359233, 30347534, 57709483, 9930840, 60607771, 24076133,
                20985293, 22480923,
            ]),
        },
        AffineNielsPoint {
            y_plus_x: FieldElement2625::from_limbs([
                14579237, 33467236, 85745988, 15769997, 101228358, 21649866, 82685456, 59023858,
                86175344, 24337101,
            ]),
            y_minus_x: FieldElement2625::from_limbs([
                4472119, 14702190, 10432042, 22460027, 708461, 18783996, 34234374, 30870323,
                63796457, 10370850,
            ]),
            xy2d: FieldElement2625::from_limbs([
                36957127, 19555637, 16244231, 24367549, 58999881, 13440043, 35147632, 8718974,
                43101064, 18487380,
            ]),
        },
        AffineNielsPoint {
            y_plus_x: FieldElement2625::from_limbs([
                21818223, 34477173, 23913863, 22441963, 129271975, 14842154, 43035020, 9485973,
                53819529, 22318987,
            ]),
            y_minus_x: FieldElement2625::from_limbs([
                10874834, 4351765, 66252340, 17269436, 64427034, 30735311, 5883785, 28998531,
                44403022, 26064601,
            ]),
            xy2d: FieldElement2625::from_limbs([
                64017630, 9755550, 37507935, 22752543, 4031638, 29903925, 47267417, 32706846,
                39147952, 21635901,
            ]),
        },
        AffineNielsPoint {
            y_plus_x: FieldElement2625::from_limbs([
                81365001, 44927611, 97395185, 43985591, 66242539, 38517499, 52937891, 37374973,
                73352483, 38476849,
            ]),
            y_minus_x: FieldElement2625::from_limbs([
                43460763, 24260930, 21493330, 30888969, 23329454, 24545577, 58286855, 12750266,
                22391140, 26198125,
            ]),
            xy2d: FieldElement2625::from_limbs([
                20477567, 24078713, 1674568, 4102219, 25208396, 13972305, 30389482, 19572626,
                1485666, 17679765,
            ]),
        },
        AffineNielsPoint {
            y_plus_x: FieldElement2625::from_limbs([
                100511110, 23887606, 116505658, 30877106, 45483774, 25222431, 67931340, 37154158,
                32618865, 18610785,
            ]),
            y_minus_x: FieldElement2625::from_limbs([
                48647066, 166413, 55454758, 8889513, 21027475, 32728181, 43100067, 4690060,
                7520989, 16421303,
            ]),
            xy2d: FieldElement2625::from_limbs([
                14868391, 20996450, 64836606, 1042490, 27060176, 10253541, 53431276, 19516737,
                41808946, 2239538,
            ]),
        },
        AffineNielsPoint {
            y_plus_x: FieldElement2625::from_limbs([
                50228416, 29594943, 62030348, 10307368, 70970997, 20292574, 126292474, 51543890,
                67827181, 15848795,
            ]),
            y_minus_x: FieldElement2625::from_limbs([
                5548701, 17911007, 33137864, 32764443, 31146554, 17931096, 64023370, 7290289,
                6361313, 32861205,
            ]),
            xy2d: FieldElement2625::from_limbs([
                63374742, 30320053, 4091667, 30955480, 44819449, 2212055, 52638826, 22391938,
                38484599, 7051029,
            ]),
        },
        AffineNielsPoint {
            y_plus_x: FieldElement2625::from_limbs([
                50485560, 7033600, 57711425, 10740562, 72347547, 42328739, 7593987, 46950560,
                85560721, 41970063,
            ]),
            y_minus_x: FieldElement2625::from_limbs([
                40930651, 3776911, 39108529, 2508077, 19371703, 7626128, 4092943, 15778278,
                42044145, 24540103,
            ]),
            xy2d: FieldElement2625::from_limbs([
                44128555, 8867576, 8645499, 22222278, 11497130, 4344907, 10788462, 23382703,
                3547104, 15368835,
            ]),
        },
        AffineNielsPoint {
            y_plus_x: FieldElement2625::from_limbs([
                81786515, 51902785, 74560130, 22753403, 52379722, 41395524, 57994925, 6818020,
                57707296, 16352835,
            ]),
            y_minus_x: FieldElement2625::from_limbs([
                21622574, 18581624, 36511951, 1212467, 36930308, 7910192, 20622927, 2438677,
                52628762, 29068327,
            ]),
            xy2d: FieldElement2625::from_limbs([
                6797431, 2854059, 4269865, 8037366, 32016522, 15223213, 34765784, 15297582,
                3559197, 26425254,
            ]),
        },
        AffineNielsPoint {
            y_plus_x: FieldElement2625::from_limbs([
                107761639, 61759660, 79235166, 8794359, 48418924, 60111631, 87862210, 33613219,
                68436482, 40229362,
            ]),
            y_minus_x: FieldElement2625::from_limbs([
                52388944, 32880897, 37676257, 8253690, 32826330, 2707379, 25088512, 17182878,
                15053907, 11601568,
            ]),
            xy2d: FieldElement2625::from_limbs([
                43894091, 25425955, 50962615, 28097648, 30129084, 13258436, 39364589, 8197601,
                58181660, 15003422,
            ]),
        },
        AffineNielsPoint {
            y_plus_x: FieldElement2625::from_limbs([
                13470722, 47835674, 31012390, 30525035, 89789519, 50713267, 39648035, 13815677,
                94028755, 62582101,
            ]),
            y_minus_x: FieldElement2625::from_limbs([
                54478677, 14782829, 56712503, 7094748, 41775828, 29409658, 9084386, 30179063,
                64014926, 32519086,
            ]),
            xy2d: FieldElement2625::from_limbs([
                6314429, 20018828, 12535891, 19610611, 10074031, 28087963, 50489447, 26314252,
                24553876, 32746308,
            ]),
        },
        AffineNielsPoint {
            y_plus_x: FieldElement2625::from_limbs([
                105768482, 46629424, 103418946, 65789027, 85765355, 28316167, 56299027, 22780838,
                122676432, 32376204,
            ]),
            y_minus_x: FieldElement2625::from_limbs([
                5654403, 26425050, 39347935, 963424, 5032477, 19850195, 30011537, 11153401,
                63182039, 13343989,
            ]),
            xy2d: FieldElement2625::from_limbs([
                1130444, 29814849, 40569426, 8144467, 24179188, 6267924, 63847147, 2912740,
                63870704, 29186744,
            ]),
        },
        AffineNielsPoint {
            y_plus_x: FieldElement2625::from_limbs([
                49722534, 11073633, 52865263, 50829611, 33921405, 38614719, 32360242, 35465390,
                50107050, 45035301,
            ]),
            y_minus_x: FieldElement2625::from_limbs([
                2003571, 2472803, 46902183, 1716406, 58609069, 15922982, 43766122, 27456369,
                33468339, 29346282,
            ]),
            xy2d: FieldElement2625::from_limbs([
                18834217, 8245144, 29896065, 3490830, 62967493, 7220277, 146130, 18459164,
                57533060, 30070422,
            ]),
        },
        AffineNielsPoint {
            y_plus_x: FieldElement2625::from_limbs([
                77805507, 38474121, 73459597, 18553340, 107508318, 52705654, 33655873, 27331956,
                44498407, 13768350,
            ]),
            y_minus_x: FieldElement2625::from_limbs([
                23652128, 27647291, 43351590, 13262712, 65238054, 26296349, 11902126, 2949002,
                34445239, 25602117,
            ]),
            xy2d: FieldElement2625::from_limbs([
                55906958, 19046111, 28501158, 28224561, 14495533, 14714956, 32929972, 2643566,
                17034893, 11645825,
            ]),
        },
        AffineNielsPoint {
            y_plus_x: FieldElement2625::from_limbs([
                38181639, 29751709, 73650473, 17760526, 80753587, 17992258, 72670209, 41214427,
                87524152, 37630124,
            ]),
            y_minus_x: FieldElement2625::from_limbs([
                6498441, 12053607, 10375600, 14764370, 24795955, 16159258, 57849421, 16071837,
                31008329, 3792564,
            ]),
            xy2d: FieldElement2625::from_limbs([
                47930485, 9176956, 54248931, 8732776, 58000258, 10333519, 96092, 29273884,
                13051277, 20121493,
            ]),
        },
        AffineNielsPoint {
            y_plus_x: FieldElement2625::from_limbs([
                54190492, 49837594, 61282066, 10734597, 67926686, 36967416, 115462142, 30339271,
                37200685, 30036936,
            ]),
            y_minus_x: FieldElement2625::from_limbs([
                21193614, 19929501, 18841215, 29565554, 64002173, 11123558, 14111648, 6069945,
                30307604, 25935103,
            ]),
            xy2d: FieldElement2625::from_limbs([
                58539773, 2098685, 38301131, 15844175, 41633654, 16934366, 15145895, 5543861,
                64050790, 6595361,
            ]),
        },
        AffineNielsPoint {
            y_plus_x: FieldElement2625::from_limbs([
                34107945, 34731353, 51956038, 5614778, 79079051, 30288154, 47460410, 22186730,
                30689695, 19628976,
            ]),
            y_minus_x: FieldElement2625::from_limbs([
                25043248, 19224237, 46048097, 32289319, 29339134, 12397721, 37385860, 12978240,
                57951631, 31419653,
            ]),
            xy2d: FieldElement2625::from_limbs([
                46038439, 28501736, 62566522, 12609283, 35236982, 30457796, 64113609, 14800343,
                6412849, 6276813,
            ]),
        },
        AffineNielsPoint {
            y_plus_x: FieldElement2625::from_limbs([
                124528774, 39505727, 83050803, 41361190, 116071796, 37845759, 61633481, 38385016,
                71255100, 31629488,
            ]),
            y_minus_x: FieldElement2625::from_limbs([
                249426, 17196749, 35434953, 13884216, 11701636, 24553269, 51821986, 12900910,
                34844073, 16150118,
            ]),
            xy2d: FieldElement2625::from_limbs([
                2520516, 14697628, 15319213, 22684490, 62866663, 29666431, 13872507, 7473319,
                12419515, 2958466,
            ]),
        },
        AffineNielsPoint {
            y_plus_x: FieldElement2625::from_limbs([
                101517167, 22298305, 98222207, 59471046, 61547444, 50370568, 97111094, 42539051,
                14298448, 49873561,
            ]),
            y_minus_x: FieldElement2625::from_limbs([
                19427905, 12004555, 9971383, 28189868, 32306269, 23648270, 34176633, 10760437,
                53354280, 5634974,
            ]),
            xy2d: FieldElement2625::from_limbs([
                30044319, 23677863, 60273406, 14563839, 9734978, 19808149, 30899064, 30835691,
                22828539, 23633348,
            ]),
        },
        AffineNielsPoint {
            y_plus_x: FieldElement2625::from_limbs([
                25513026, 37111929, 37113703, 29589233, 77394412, 34745965, 95889446, 61766763,
                92876242, 37566563,
            ]),
            y_minus_x: FieldElement2625::from_limbs([
                42139852, 9176396, 16274786, 33467453, 52558621, 7190768, 1490604, 31312359,
                44767199, 18491072,
            ]),
            xy2d: FieldElement2625::from_limbs([
                4272877, 21431483, 45594743, 13027605, 59232641, 24151956, 38390319, 12906718,
                45915869, 15503563,
            ]),
        },
        AffineNielsPoint {
            y_plus_x: FieldElement2625::from_limbs([
                29874396, 35808736, 25494239, 37976524, 43036007, 37144111, 18198811, 35141252,
                53490316, 47742788,
            ]),
            y_minus_x: FieldElement2625::from_limbs([
                59518553, 28520621, 59946871, 29462027, 3630300, 29398589, 60425462, 24588735,
                53129947, 28399367,
            ]),
            xy2d: FieldElement2625::from_limbs([
                18192774, 12787801, 32021061, 9158184, 48389348, 16385092, 11799402, 9492011,
                43154220, 15950102,
            ]),
        },
        AffineNielsPoint {
            y_plus_x: FieldElement2625::from_limbs([
                68768204, 54638026, 33464925, 53430209, 66037964, 35360373, 22565155, 39168685,
                46605438, 51897954,
            ]),
            y_minus_x: FieldElement2625::from_limbs([
                57660336, 29715319, 64414626, 32753338, 16894121, 935644, 53848937, 22684138,
                10541713, 14174330,
            ]),
            xy2d: FieldElement2625::from_limbs([
                22888141, 12700209, 40301697, 6435658, 56329485, 5524686, 56715961, 6520808,
                15754965, 9355803,
            ]),
        },
        AffineNielsPoint {
            y_plus_x: FieldElement2625::from_limbs([
                79549820, 26746924, 54931884, 38547877, 49672847, 19708985, 52599424, 12757151,
                93328625, 39524327,
            ]),
            y_minus_x: FieldElement2625::from_limbs([
                33888606, 13911610, 18921581, 1162763, 46616901, 13799218, 29525142, 21929286,
                59295464, 503508,
            ]),
            xy2d: FieldElement2625::from_limbs([
                57865531, 22043577, 17998312, 3038439, 52838371, 9832208, 43311531, 660991,
                25265267, 18977724,
            ]),
        },
        AffineNielsPoint {
            y_plus_x: FieldElement2625::from_limbs([
                64010269, 23727746, 42277281, 48089313, 102316973, 34946803, 127880577, 38411468,
                114816699, 43712746,
            ]),
            y_minus_x: FieldElement2625::from_limbs([
                56859315, 32558245, 41017090, 22610758, 13704990, 23215119, 2475037, 32344984,
                12799418, 11135856,
            ]),
            xy2d: FieldElement2625::from_limbs([
                1867214, 27167702, 19772099, 16925005, 15366693, 25797692, 10829276, 15372827,
                26582557, 31642714,
            ]),
        },
        AffineNielsPoint {
            y_plus_x: FieldElement2625::from_limbs([
                57265197, 20059797, 107314987, 30587501, 60553812, 25602102, 29690666, 37127097,
                103070929, 51772159,
            ]),
            y_minus_x: FieldElement2625::from_limbs([
                56432653, 6329655, 42770975, 4187982, 30677076, 9335071, 60103332, 14755050,
                9451294, 574767,
            ]),
            xy2d: FieldElement2625::from_limbs([
                52859018, 2867107, 56258365, 15719081, 5959372, 8703738, 29137781, 21575537,
                20249840, 31808689,
            ]),
        },
        AffineNielsPoint {
            y_plus_x: FieldElement2625::from_limbs([
                74749335, 47235127, 9995910, 52200224, 92069015, 8964515, 33248715, 21201554,
                57573145, 31605506,
            ]),
            y_minus_x: FieldElement2625::from_limbs([
                56307055, 23891752, 3613811, 30787942, 49031222, 26667524, 26985478, 31973510,
                26785294, 29587427,
            ]),
            xy2d: FieldElement2625::from_limbs([
                30891460, 5254655, 47414930, 12769216, 42912782, 11830405, 7411958, 1394027,
                18778535, 18209370,
            ]),
        },
        AffineNielsPoint {
            y_plus_x: FieldElement2625::from_limbs([
                61227949, 26179350, 57501473, 13585864, 102855675, 40344975, 54134826, 59707765,
                74122694, 12256219,
            ]),
            y_minus_x: FieldElement2625::from_limbs([
                5975515, 16302413, 24341148, 28270615, 18786096, 22405501, 28243950, 28328004,
                53412289, 4381960,
            ]),
            xy2d: FieldElement2625::from_limbs([
                9394648, 8758552, 26189703, 16642536, 35993528, 5117040, 5977877, 13955594,
                19244020, 24493735,
            ]),
        },
        AffineNielsPoint {
            y_plus_x: FieldElement2625::from_limbs([
                111388362, 51822507, 30193028, 3993472, 110736308, 44014764, 107346699, 48464072,
                92830877, 56442511,
            ]),
            y_minus_x: FieldElement2625::from_limbs([
                7236795, 30433657, 63588571, 620817, 11118384, 24979014, 66780154, 19877679,
                16217590, 26311105,
            ]),
            xy2d: FieldElement2625::from_limbs([
                42540794, 21657271, 16455973, 23630199, 3992015, 21894417, 44876052, 19291718,
                55429803, 30442389,
            ]),
        },
        AffineNielsPoint {
            y_plus_x: FieldElement2625::from_limbs([
                69421833, 26972132, 58859271, 20240912, 119664007, 29643940, 93968457, 34515112,
                110902491, 44996669,
            ]),
            y_minus_x: FieldElement2625::from_limbs([
                3428668, 27807272, 41139948, 24786894, 4167808, 21423270, 52199622, 8021269,
                53172251, 18070808,
            ]),
            xy2d: FieldElement2625::from_limbs([
                30631113, 26363656, 21279866, 23275794, 18311406, 466071, 42527968, 7989982,
                29641567, 29446694,
            ]),
        },
    ]);
