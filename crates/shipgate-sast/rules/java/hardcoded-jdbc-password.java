import java.sql.Connection;
import java.sql.DriverManager;

class Db {
    Connection open(HikariConfig cfg) throws Exception {
        // ruleid: java.hardcoded-jdbc-password
        Connection c = DriverManager.getConnection("jdbc:mysql://db/app", "root", "hunter2");
        // ruleid: java.hardcoded-jdbc-password
        cfg.setPassword("s3cret");
        // ok: java.hardcoded-jdbc-password
        Connection d = DriverManager.getConnection("jdbc:mysql://db/app", "app", System.getenv("DB_PASSWORD"));
        // ok: java.hardcoded-jdbc-password
        cfg.setPassword(System.getenv("DB_PASSWORD"));
        return c;
    }
}
