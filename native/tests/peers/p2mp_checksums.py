"""The two dialects' 16-bit checksums, written from the protocol brief, shared by the test peers."""


def fold(total):
    """Adds the carries back in until the sum fits in 16 bits (end-around carry)."""
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    return total


def text_sum(payload):
    """Ones' complement of the sum of little-endian words; an odd byte pairs with a space."""
    total = 0
    n = len(payload)
    for i in range(0, n - 1, 2):
        total += payload[i] | (payload[i + 1] << 8)
    if n % 2:
        total += payload[-1] | (0x20 << 8)
    return ~fold(total) & 0xFFFF


def rfc1071(payload):
    """Internet checksum: big-endian words, an odd byte padded with a zero low byte."""
    total = 0
    n = len(payload)
    for i in range(0, n - 1, 2):
        total += (payload[i] << 8) | payload[i + 1]
    if n % 2:
        total += payload[-1] << 8
    return ~fold(total) & 0xFFFF
