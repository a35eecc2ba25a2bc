//! TFRecord framing, the container of TensorBoard's event files: per record the data's length
//! (u64, little-endian), the masked CRC32C of those 8 bytes, the data, and the masked CRC32C of
//! the data (u32s, little-endian).

/// TensorFlow's masked CRC32C: rotated right by 15 bits plus a constant, so that a CRC computed
/// over data that itself holds CRCs stays well spread.
pub fn masked_crc(data: &[u8]) -> u32 {
    let crc = crc32c::crc32c(data);
    crc.rotate_right(15).wrapping_add(0xa282_ead8)
}

/// Append one record holding `data` to `out`.
pub fn push_record(out: &mut Vec<u8>, data: &[u8]) {
    let len = (data.len() as u64).to_le_bytes();
    out.extend_from_slice(&len);
    out.extend_from_slice(&masked_crc(&len).to_le_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(&masked_crc(data).to_le_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_a_record_as_tensorflow_does() {
        // CRC32C("123456789") = 0xe3069283 (the standard check value), then masked.
        assert_eq!(crc32c::crc32c(b"123456789"), 0xe306_9283);
        assert_eq!(masked_crc(b"123456789"), 0xe306_9283u32.rotate_right(15).wrapping_add(0xa282_ead8));
        let mut out = Vec::new();
        push_record(&mut out, b"abc");
        assert_eq!(out.len(), 8 + 4 + 3 + 4);
        assert_eq!(&out[..8], &3u64.to_le_bytes());
        assert_eq!(&out[12..15], b"abc");
        assert_eq!(&out[15..], &masked_crc(b"abc").to_le_bytes());
    }
}
