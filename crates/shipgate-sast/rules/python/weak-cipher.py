from Crypto.Cipher import AES, DES
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes


def encrypt(key, iv, nonce):
    # ruleid: python.weak-cipher
    c1 = DES.new(key, DES.MODE_CBC, iv)
    # ruleid: python.weak-cipher
    c2 = AES.new(key, AES.MODE_ECB)
    # ruleid: python.weak-cipher
    c3 = Cipher(algorithms.AES(key), modes.ECB())
    # ok: python.weak-cipher
    c4 = AES.new(key, AES.MODE_GCM, nonce=nonce)
    # ok: python.weak-cipher
    c5 = Cipher(algorithms.AES(key), modes.GCM(iv))
    return c1, c2, c3, c4, c5
