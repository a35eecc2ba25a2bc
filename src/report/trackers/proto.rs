//! The few protobuf encodings TensorBoard's event files need, written by hand: varints, fixed
//! 32/64-bit numbers and length-delimited fields (wire types 0, 1, 5 and 2). Fields are written
//! in the order the caller gives, each one whenever it is called (so a oneof member holding its
//! default, e.g. a scalar of 0.0, is still present).

/// One message being encoded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Msg(Vec<u8>);

const VARINT: u32 = 0;
const FIXED64: u32 = 1;
const LEN: u32 = 2;
const FIXED32: u32 = 5;

impl Msg {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn bytes(&self) -> &[u8] {
        &self.0
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }

    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.0.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
    }

    fn key(&mut self, field: u32, wire: u32) {
        self.varint(u64::from((field << 3) | wire));
    }

    /// `int32`, `int64`, `uint64` and enums: negative numbers take ten bytes, as protobuf says.
    pub fn int(mut self, field: u32, v: i64) -> Self {
        self.key(field, VARINT);
        self.varint(v as u64);
        self
    }

    pub fn boolean(self, field: u32, v: bool) -> Self {
        self.int(field, i64::from(v))
    }

    pub fn double(mut self, field: u32, v: f64) -> Self {
        self.key(field, FIXED64);
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }

    pub fn float(mut self, field: u32, v: f32) -> Self {
        self.key(field, FIXED32);
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }

    /// `bytes` and `string`.
    pub fn bytes_field(mut self, field: u32, v: &[u8]) -> Self {
        self.key(field, LEN);
        self.varint(v.len() as u64);
        self.0.extend_from_slice(v);
        self
    }

    pub fn string(self, field: u32, v: &str) -> Self {
        self.bytes_field(field, v.as_bytes())
    }

    /// An embedded message.
    pub fn message(self, field: u32, m: &Msg) -> Self {
        self.bytes_field(field, &m.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected bytes from protobuf's encoding guide (field 1 = 150 is `08 96 01`) and Python's
    // protobuf for the rest.
    #[test]
    fn encodes_as_protobuf_does() {
        assert_eq!(Msg::new().int(1, 150).bytes(), [0x08, 0x96, 0x01]);
        assert_eq!(Msg::new().string(2, "testing").bytes(), b"\x12\x07testing");
        assert_eq!(Msg::new().int(1, -1).bytes(), [0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
        assert_eq!(Msg::new().float(2, 0.0).bytes(), [0x15, 0, 0, 0, 0]);
        assert_eq!(Msg::new().double(1, 1.5).bytes(), [0x09, 0, 0, 0, 0, 0, 0, 0xf8, 0x3f]);
        assert_eq!(Msg::new().boolean(4, true).bytes(), [0x20, 0x01]);
        let inner = Msg::new().int(1, 0);
        assert_eq!(Msg::new().message(2, &inner).bytes(), [0x12, 0x02, 0x08, 0x00]);
        assert_eq!(Msg::new().int(300, 1).bytes(), [0xe0, 0x12, 0x01], "a field number above 15 takes a two-byte key");
    }
}
