//! Bitcoin networks and their encoding parameters.

use alloc::format;
use alloc::string::String;
use core::fmt;
use core::str::FromStr;

/// The bitcoin network a prize key and its addresses belong to.
///
/// The network decides the WIF version byte, the P2PKH version byte and the
/// bech32 human-readable part. Testnet, signet and regtest share the WIF and
/// P2PKH version bytes; only their bech32 prefix (regtest) and the chain the
/// coins live on differ, which is why a WIF alone cannot name them apart (see
/// [`PrizeKey::from_wif_for`](crate::PrizeKey::from_wif_for)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Network {
    /// Bitcoin mainnet: real coins.
    Bitcoin,
    /// The public test network (testnet3/testnet4 share all encodings).
    Testnet,
    /// The signet test network.
    Signet,
    /// A local regression-test chain.
    Regtest,
}

impl Network {
    /// Every network, in the order the CLI lists them.
    pub const ALL: [Network; 4] = [
        Network::Bitcoin,
        Network::Testnet,
        Network::Signet,
        Network::Regtest,
    ];

    /// The lower-case name used by [`Display`](fmt::Display) and [`FromStr`].
    pub const fn name(self) -> &'static str {
        match self {
            Network::Bitcoin => "bitcoin",
            Network::Testnet => "testnet",
            Network::Signet => "signet",
            Network::Regtest => "regtest",
        }
    }

    /// First byte of a WIF private key: 0x80 on mainnet, 0xEF on every test network.
    pub const fn wif_version(self) -> u8 {
        match self {
            Network::Bitcoin => 0x80,
            Network::Testnet | Network::Signet | Network::Regtest => 0xEF,
        }
    }

    /// First byte of a base58check P2PKH address: 0x00 on mainnet, 0x6F elsewhere.
    pub const fn p2pkh_version(self) -> u8 {
        match self {
            Network::Bitcoin => 0x00,
            Network::Testnet | Network::Signet | Network::Regtest => 0x6F,
        }
    }

    /// The bech32 human-readable part of segwit addresses (`bc`, `tb`, `bcrt`).
    pub const fn bech32_hrp(self) -> &'static str {
        match self {
            Network::Bitcoin => "bc",
            Network::Testnet | Network::Signet => "tb",
            Network::Regtest => "bcrt",
        }
    }

    pub(crate) fn hrp(self) -> bech32::Hrp {
        match self {
            Network::Bitcoin => bech32::hrp::BC,
            Network::Testnet | Network::Signet => bech32::hrp::TB,
            Network::Regtest => bech32::hrp::BCRT,
        }
    }

    /// A public block-explorer page (mempool.space layout) for `address`, so
    /// that anyone can check on-chain that the bounty is still there.
    ///
    /// `None` for regtest: a regtest chain is local and has no public explorer.
    pub fn explorer_address_url(&self, address: &str) -> Option<String> {
        let base = "https://mempool.space";
        match self {
            Network::Bitcoin => Some(format!("{base}/address/{address}")),
            Network::Testnet => Some(format!("{base}/testnet/address/{address}")),
            Network::Signet => Some(format!("{base}/signet/address/{address}")),
            Network::Regtest => None,
        }
    }
}

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The error of parsing a [`Network`] from an unknown name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseNetworkError;

impl fmt::Display for ParseNetworkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("unknown network: expected bitcoin (or mainnet), testnet, signet or regtest")
    }
}

impl core::error::Error for ParseNetworkError {}

impl FromStr for Network {
    type Err = ParseNetworkError;

    /// Accepts the [`Display`](fmt::Display) names, ignoring ASCII case, and
    /// `mainnet` as an alias for [`Network::Bitcoin`] (the name most people type).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.eq_ignore_ascii_case("mainnet") {
            return Ok(Network::Bitcoin);
        }
        Network::ALL
            .into_iter()
            .find(|n| s.eq_ignore_ascii_case(n.name()))
            .ok_or(ParseNetworkError)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn display_and_parse_round_trip() {
        for n in Network::ALL {
            assert_eq!(n.to_string().parse::<Network>(), Ok(n));
        }
        assert_eq!(Network::Bitcoin.to_string(), "bitcoin");
        assert_eq!(Network::Testnet.to_string(), "testnet");
        assert_eq!(Network::Signet.to_string(), "signet");
        assert_eq!(Network::Regtest.to_string(), "regtest");
    }

    #[test]
    fn parse_aliases_and_rejects() {
        assert_eq!("mainnet".parse(), Ok(Network::Bitcoin));
        assert_eq!("RegTest".parse(), Ok(Network::Regtest));
        assert_eq!("".parse::<Network>(), Err(ParseNetworkError));
        assert_eq!("testnet4x".parse::<Network>(), Err(ParseNetworkError));
        assert_eq!(" bitcoin".parse::<Network>(), Err(ParseNetworkError));
    }

    #[test]
    fn explorer_urls() {
        let a = "x";
        assert_eq!(
            Network::Bitcoin.explorer_address_url(a).as_deref(),
            Some("https://mempool.space/address/x")
        );
        assert_eq!(
            Network::Testnet.explorer_address_url(a).as_deref(),
            Some("https://mempool.space/testnet/address/x")
        );
        assert_eq!(
            Network::Signet.explorer_address_url(a).as_deref(),
            Some("https://mempool.space/signet/address/x")
        );
        assert_eq!(Network::Regtest.explorer_address_url(a), None);
    }

    #[test]
    fn hrp_matches_name() {
        for n in Network::ALL {
            assert_eq!(n.hrp().as_str(), n.bech32_hrp());
        }
    }
}
