import java.security.MessageDigest;

class Hasher {
    byte[] hash(byte[] data) throws Exception {
        // ruleid: java.weak-hash
        MessageDigest a = MessageDigest.getInstance("MD5");
        // ruleid: java.weak-hash
        MessageDigest b = MessageDigest.getInstance("SHA-1");
        // ok: java.weak-hash
        MessageDigest c = MessageDigest.getInstance("SHA-256");
        // ok: java.weak-hash
        MessageDigest d = MessageDigest.getInstance("SHA-512");
        return c.digest(data);
    }
}
