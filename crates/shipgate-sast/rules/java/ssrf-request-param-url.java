import java.net.URL;
import javax.servlet.http.HttpServletRequest;

class Proxy {
    Object fetch(HttpServletRequest req, RestTemplate rest) throws Exception {
        // ruleid: java.ssrf-request-param-url
        URL u = new URL(req.getParameter("url"));
        // ruleid: java.ssrf-request-param-url
        String body = rest.getForObject(req.getParameter("target"), String.class);
        // ok: java.ssrf-request-param-url
        URL fixed = new URL("https://api.example.com/status");
        // ok: java.ssrf-request-param-url
        String s = rest.getForObject("https://api.example.com/items?q={q}", String.class, req.getParameter("q"));
        return u;
    }
}
