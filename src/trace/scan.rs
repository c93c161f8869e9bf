//! Finding the bytes JSON strings treat specially, eight at a time.
//!
//! Inside a JSON string, only a quote, a backslash and the control characters below 0x20 are
//! special (serde_json escapes exactly these when writing, and refuses the last raw when
//! reading). Both the input reader and the output writer look for them in every string, and
//! most strings are ids of a few bytes: a word at a time costs a few instructions where a
//! byte at a time costs a few per byte.

use crate::ids::ID_CAPACITY;

/// Each byte of a word holding `b`.
const fn splat(b: u8) -> u64 {
    0x0101_0101_0101_0101 * b as u64
}

const ONES: u64 = splat(1);
const HIGH: u64 = splat(0x80);

/// A mask with the high bit of each byte of `word` that is special set. The lowest set bit
/// is exact (bytes above a special one may be marked too, by the borrow of the
/// subtractions), which is all [`first_special`] reads.
#[inline]
fn special_bytes(word: u64) -> u64 {
    let quote = word ^ splat(b'"');
    let backslash = word ^ splat(b'\\');
    let zero_quote = quote.wrapping_sub(ONES) & !quote;
    let zero_backslash = backslash.wrapping_sub(ONES) & !backslash;
    let below_space = word.wrapping_sub(splat(0x20)) & !word;
    (zero_quote | zero_backslash | below_space) & HIGH
}

/// Where the first quote, backslash or control character of `bytes` is, if any.
#[inline]
pub(super) fn first_special(bytes: &[u8]) -> Option<usize> {
    let mut at = 0;
    while let Some(chunk) = bytes.get(at..at + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let mask = special_bytes(u64::from_le_bytes(word));
        if mask != 0 {
            return Some(at + byte_index(mask));
        }
        at += 8;
    }
    // Fewer than eight bytes are left (a string's closing quote is seldom among them: the
    // reader searches the rest of its line).
    let rest = bytes.get(at..).unwrap_or_default();
    rest.iter().position(|&b| is_special(b)).map(|i| at + i)
}

/// Where the first special byte among the first `len` of `block` is (the block is read
/// whole, a word at a time; the rest of it does not count).
#[inline]
pub(super) fn first_special_within(block: &[u8; ID_CAPACITY], len: usize) -> Option<usize> {
    let mut word = [0u8; 8];
    for (i, chunk) in block.chunks_exact(8).enumerate() {
        word.copy_from_slice(chunk);
        let mask = special_bytes(u64::from_le_bytes(word));
        if mask != 0 {
            let at = 8 * i + byte_index(mask);
            return (at < len).then_some(at);
        }
    }
    None
}

/// Whether JSON treats `b` specially inside a string (one lookup: this runs for every byte
/// of every id written).
#[inline]
pub(super) fn is_special(b: u8) -> bool {
    SPECIAL[usize::from(b)]
}

static SPECIAL: [bool; 256] = special_table();

const fn special_table() -> [bool; 256] {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = true;
        b += 1;
    }
    table[b'"' as usize] = true;
    table[b'\\' as usize] = true;
    table
}

/// The index of the byte whose high bit is the lowest set bit of `mask` (not zero).
#[inline]
fn byte_index(mask: u64) -> usize {
    // At most 63 / 8 = 7.
    (mask.trailing_zeros() / 8) as usize
}

#[cfg(test)]
mod tests {
    use super::first_special;

    fn naive(bytes: &[u8]) -> Option<usize> {
        bytes
            .iter()
            .position(|&b| b < 0x20 || b == b'"' || b == b'\\')
    }

    #[test]
    fn the_special_bytes_are_the_quote_the_backslash_and_controls() {
        for b in 0..=255u8 {
            let escaped = serde_json::to_string(&char::from(b).to_string()).unwrap();
            let plain = escaped == format!("\"{}\"", char::from(b));
            assert_eq!(super::is_special(b), !plain, "byte {b}: {escaped}");
        }
    }

    #[test]
    fn finds_the_first_special_byte_like_a_byte_by_byte_search() {
        // Every position in texts of 0..=24 bytes, around every kind of byte (a special one
        // behind another, multibyte UTF-8, DEL and bytes just above the specials).
        let fillers: [&[u8]; 4] = [
            b"abcdefghijklmnopqrstuvwx",
            "éé€€€€€€😀😀".as_bytes(),
            &[0x7f; 24],
            &[0x21, 0x23, 0x5b, 0x5d, 0x20, 0x80, 0xff, 0x22 + 1],
        ];
        for filler in fillers {
            for len in 0..=filler.len().min(24) {
                let base = &filler[..len];
                assert_eq!(first_special(base), naive(base), "{base:?}");
                for at in 0..len {
                    for special in [0u8, 0x1f, b'\n', b'"', b'\\'] {
                        let mut text = base.to_vec();
                        text[at] = special;
                        assert_eq!(first_special(&text), Some(at), "{text:?}");
                        if at + 1 < len {
                            text[at + 1] = b'"';
                            assert_eq!(first_special(&text), Some(at), "{text:?}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn within_a_padded_block_only_the_first_bytes_count() {
        for len in 0..=32 {
            for b in 0..=255u8 {
                for at in 0..32 {
                    let mut block = [0u8; 32];
                    block[..len].fill(b'a');
                    block[at] = b;
                    let want = naive(&block[..len]);
                    assert_eq!(
                        super::first_special_within(&block, len),
                        want,
                        "{len} {b} {at}"
                    );
                }
            }
        }
    }

    #[test]
    fn agrees_with_a_byte_by_byte_search_on_every_byte_at_every_offset() {
        for b in 0..=255u8 {
            for at in 0..17 {
                let mut text = vec![b'a'; 17];
                text[at] = b;
                assert_eq!(first_special(&text), naive(&text), "byte {b} at {at}");
            }
        }
    }
}
