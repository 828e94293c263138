import random
import secrets
import string


def make():
    # ruleid: python.insecure-random-token
    reset_token = random.getrandbits(128)
    # ruleid: python.insecure-random-token
    api_key = "".join(random.choice(string.ascii_letters) for _ in range(32))
    # ok: python.insecure-random-token
    session_token = secrets.token_hex(32)
    # ok: python.insecure-random-token
    jitter = random.random()
    return reset_token, api_key, session_token, jitter
