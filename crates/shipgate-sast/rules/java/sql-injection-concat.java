import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.Statement;

class Dao {
    void find(Connection conn, String id, String name) throws Exception {
        Statement st = conn.createStatement();
        // ruleid: java.sql-injection-concat
        st.executeQuery("SELECT * FROM users WHERE id = " + id);
        // ruleid: java.sql-injection-concat
        st.executeUpdate(String.format("DELETE FROM users WHERE name = '%s'", name));
        // ruleid: java.sql-injection-concat
        PreparedStatement bad = conn.prepareStatement("SELECT * FROM t WHERE n = '" + name + "'");
        // ok: java.sql-injection-concat
        PreparedStatement ps = conn.prepareStatement("SELECT * FROM users WHERE id = ?");
        ps.setString(1, id);
        // ok: java.sql-injection-concat
        st.executeQuery("SELECT count(*) FROM users");
    }
}
