"""Verifiable transparency log: RFC 6962 Merkle proofs and C2SP note/checkpoint/tile formats."""
