//! Wire codecs for both dialects: parse and emit, with typed errors for every malformed input.
//!
//! A [`Packet`] that parsed successfully has a verified checksum: the receiver never sees
//! payload bytes that failed it.

mod binary;
mod checksum;
mod text;

pub use checksum::{internet_checksum, text_checksum};

use core::fmt;
use core::str::FromStr;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Largest UDP payload over IPv4 (65535 - 20 IP - 8 UDP).
pub const MAX_UDP_PAYLOAD: usize = 65_507;

/// Binary dialect: the ACK a buffering receiver sends for "my last in-order segment" while it
/// has none, segment -1 in the field's 32-bit arithmetic. It opened its transfer on a later
/// segment of the first window, and a windowed sender that took its ACKs of those for
/// cumulative ones learns from this that segment 0 is missing. Never a real segment's number
/// in a file of fewer than 2^32 segments; a classic sender never sends far enough ahead to get it.
pub const NOTHING_IN_ORDER: u32 = u32::MAX;

/// Which framing is on the wire.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dialect {
    /// Big-endian binary headers, segment-numbered (the default).
    #[default]
    Binary,
    /// ASCII `###` framing with byte offsets, compatible with the original Python scripts.
    Text,
}

impl Dialect {
    /// Bytes of header in front of a DATA payload.
    pub const fn header_len(self) -> usize {
        match self {
            Dialect::Binary => binary::HEADER_LEN,
            Dialect::Text => text::DATA_HEADER_LEN,
        }
    }

    /// The largest MSS whose DATA datagram still fits in one UDP datagram.
    pub const fn max_mss(self) -> usize {
        MAX_UDP_PAYLOAD - self.header_len()
    }

    /// Reads the sequence field of a datagram without validating the rest, for the loss
    /// service's printout. `None` if the datagram is too short or the field is not digits.
    pub fn sequence_field(self, datagram: &[u8]) -> Option<u32> {
        match self {
            Dialect::Binary => binary::sequence_field(datagram),
            Dialect::Text => text::sequence_field(datagram),
        }
    }

    /// Reads the checksum field of a DATA datagram (the text dialect's EOF included) without
    /// verifying it, for the trace; `None` for other datagrams and malformed ones.
    pub fn checksum_field(self, datagram: &[u8]) -> Option<u16> {
        match self {
            Dialect::Binary => binary::checksum_field(datagram),
            Dialect::Text => text::checksum_field(datagram),
        }
    }

    /// Parses one datagram, verifying framing and checksum.
    pub fn parse(self, datagram: &[u8]) -> Result<Packet<'_>, WireError> {
        match self {
            Dialect::Binary => binary::parse(datagram),
            Dialect::Text => text::parse(datagram),
        }
    }

    /// Appends the encoding of `packet` to `buf`.
    ///
    /// Fails only for packets this dialect cannot express (an empty binary DATA, a text FIN at
    /// an offset other than its own, a payload too large for one datagram).
    pub fn emit(self, packet: &Packet<'_>, buf: &mut Vec<u8>) -> Result<(), WireError> {
        if let Packet::Data { payload, .. } = packet {
            if payload.len() > self.max_mss() {
                return Err(WireError::PayloadTooLarge { len: payload.len(), max: self.max_mss() });
            }
        }
        match self {
            Dialect::Binary => binary::emit(packet, buf),
            Dialect::Text => text::emit(packet, buf),
        }
    }

    /// The encoded length of `packet` in this dialect.
    pub fn encoded_len(self, packet: &Packet<'_>) -> usize {
        match (self, packet) {
            (_, Packet::Data { payload, .. }) => self.header_len() + payload.len(),
            (Dialect::Binary, _) => binary::HEADER_LEN,
            (Dialect::Text, Packet::Ack { .. }) => text::ACK_LEN,
            (Dialect::Text, Packet::Fin { .. }) => text::DATA_HEADER_LEN,
        }
    }
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Dialect::Binary => "binary",
            Dialect::Text => "text",
        })
    }
}

impl FromStr for Dialect {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "binary" => Ok(Dialect::Binary),
            "text" => Ok(Dialect::Text),
            other => Err(format!("unknown wire dialect `{other}` (expected binary or text)")),
        }
    }
}

/// One parsed datagram. `seq` is the sequence field as on the wire: a segment number in the
/// binary dialect, a byte offset in the text dialect.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Packet<'a> {
    /// A file segment whose checksum has been verified (on parse) or will be computed (on emit).
    /// Never empty: an empty text DATA is the end of file and parses as [`Packet::Fin`].
    Data {
        /// Sequence field.
        seq: u32,
        /// Payload bytes, `1..=MSS`.
        payload: &'a [u8],
    },
    /// Acknowledgement of the DATA (or text EOF) whose sequence field it echoes.
    Ack {
        /// Sequence field being acknowledged.
        seq: u32,
    },
    /// End of file. Binary: the FIN datagram (field always 0), answered with an identical FIN.
    /// Text: an empty DATA whose offset is the file length, answered with an ACK of that offset.
    Fin {
        /// Sequence field: 0 in binary, the file length in text.
        seq: u32,
    },
}

/// What kind of datagram a trace event talks about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PacketKind {
    /// A file segment.
    Data,
    /// An acknowledgement.
    Ack,
    /// End of file (or its echo).
    Fin,
}

impl Packet<'_> {
    /// The packet's kind, for traces.
    pub fn kind(&self) -> PacketKind {
        match self {
            Packet::Data { .. } => PacketKind::Data,
            Packet::Ack { .. } => PacketKind::Ack,
            Packet::Fin { .. } => PacketKind::Fin,
        }
    }
}

/// Why a datagram was rejected.
#[derive(Clone, Debug, PartialEq, Eq, Error, Serialize, Deserialize)]
#[serde(tag = "error", rename_all = "snake_case")]
pub enum WireError {
    /// Shorter than the smallest valid datagram.
    #[error("datagram of {len} bytes is shorter than a header ({min} bytes)")]
    Truncated {
        /// Bytes received.
        len: usize,
        /// Minimum length.
        min: usize,
    },
    /// The type field is none of DATA, ACK, FIN.
    #[error("unknown type field {field:#06x}")]
    UnknownType {
        /// The field as read (text: its 16 digits parsed as binary, or 0xFFFF if not digits).
        field: u16,
    },
    /// ACK or FIN with trailing bytes, or a non-zero field that must be zero.
    #[error("malformed {kind:?}: {what}")]
    BadControl {
        /// Which control datagram.
        kind: PacketKind,
        /// What is wrong with it.
        what: String,
    },
    /// A binary DATA with no payload.
    #[error("DATA with an empty payload")]
    EmptyPayload,
    /// Payload larger than any MSS can be.
    #[error("payload of {len} bytes exceeds the maximum of {max}")]
    PayloadTooLarge {
        /// Payload length.
        len: usize,
        /// Largest allowed.
        max: usize,
    },
    /// The checksum field does not match the payload.
    #[error("bad checksum for sequence field {seq}: carried {carried:#06x}, computed {computed:#06x}")]
    BadChecksum {
        /// The sequence field of the damaged datagram.
        seq: u32,
        /// Checksum carried in the header.
        carried: u16,
        /// Checksum computed over the payload received.
        computed: u16,
    },
    /// Text dialect framing is wrong (missing separator, a field that is not binary digits).
    #[error("bad text framing: {0}")]
    BadFraming(String),
}

impl WireError {
    /// Whether this is a checksum failure (as opposed to framing), for counters and traces.
    pub fn is_checksum(&self) -> bool {
        matches!(self, WireError::BadChecksum { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dialect_limits_and_names() {
        assert_eq!(Dialect::Binary.max_mss(), 65_499);
        assert_eq!(Dialect::Text.max_mss(), 65_507 - 73);
        assert_eq!("text".parse::<Dialect>(), Ok(Dialect::Text));
        assert!("morse".parse::<Dialect>().is_err());
        let mut buf = Vec::new();
        let big = vec![0u8; 65_500];
        let err = Dialect::Binary.emit(&Packet::Data { seq: 0, payload: &big }, &mut buf);
        assert!(matches!(err, Err(WireError::PayloadTooLarge { .. })));
        assert!(buf.is_empty());
    }
}
