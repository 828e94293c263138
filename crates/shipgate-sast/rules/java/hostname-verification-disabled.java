import javax.net.ssl.HttpsURLConnection;

class Tls {
    void setup(HttpsURLConnection conn) {
        // ruleid: java.hostname-verification-disabled
        conn.setHostnameVerifier((host, session) -> true);
        // ruleid: java.hostname-verification-disabled
        Object v = NoopHostnameVerifier.INSTANCE;
        // ok: java.hostname-verification-disabled
        conn.setHostnameVerifier(HttpsURLConnection.getDefaultHostnameVerifier());
        // ok: java.hostname-verification-disabled
        conn.setHostnameVerifier((host, session) -> host.equals("api.example.com"));
    }
}
