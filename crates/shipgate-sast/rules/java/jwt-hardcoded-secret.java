import com.auth0.jwt.JWT;
import com.auth0.jwt.algorithms.Algorithm;

class Tokens {
    String issue(String user) {
        // ruleid: java.jwt-hardcoded-secret
        Algorithm alg = Algorithm.HMAC256("super-secret-key");
        // ruleid: java.jwt-hardcoded-secret
        Object key = Keys.hmacShaKeyFor("another-secret-that-is-long-enough".getBytes());
        // ok: java.jwt-hardcoded-secret
        Algorithm alg2 = Algorithm.HMAC256(System.getenv("JWT_SECRET"));
        // ok: java.jwt-hardcoded-secret
        Algorithm alg3 = Algorithm.RSA256(publicKey, privateKey);
        return JWT.create().withSubject(user).sign(alg2);
    }
}
