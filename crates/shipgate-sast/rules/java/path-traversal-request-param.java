import java.io.File;
import java.nio.file.Paths;
import javax.servlet.http.HttpServletRequest;

class Files {
    void read(HttpServletRequest req) throws Exception {
        // ruleid: java.path-traversal-request-param
        File f = new File("/srv/files", req.getParameter("name"));
        // ruleid: java.path-traversal-request-param
        Object p = Paths.get("/srv/files/" + req.getParameter("name"));
        // ok: java.path-traversal-request-param
        File g = new File("/srv/files", "index.html");
        // ok: java.path-traversal-request-param
        File h = new File("/srv/files", FilenameUtils.getName(req.getParameter("name")));
    }
}
