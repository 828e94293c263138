import java.io.IOException;
import javax.servlet.http.HttpServletRequest;
import javax.servlet.http.HttpServletResponse;

class Hello {
    void doGet(HttpServletRequest req, HttpServletResponse resp) throws IOException {
        // ruleid: java.servlet-reflected-xss
        resp.getWriter().println("<h1>Hello " + req.getParameter("name") + "</h1>");
        // ruleid: java.servlet-reflected-xss
        resp.getWriter().write(req.getParameter("msg"));
        // ok: java.servlet-reflected-xss
        resp.getWriter().println("<h1>Hello " + Encode.forHtml(req.getParameter("name")) + "</h1>");
        // ok: java.servlet-reflected-xss
        resp.getWriter().write("ok");
    }
}
