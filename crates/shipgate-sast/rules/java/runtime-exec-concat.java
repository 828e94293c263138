import java.io.IOException;

class Runner {
    void run(String dir) throws IOException {
        // ruleid: java.runtime-exec-concat
        Runtime.getRuntime().exec("ls -la " + dir);
        // ruleid: java.runtime-exec-concat
        Runtime.getRuntime().exec(String.format("du -sh %s", dir));
        // ruleid: java.runtime-exec-concat
        new ProcessBuilder("sh", "-c", "tar czf out.tgz " + dir).start();
        // ok: java.runtime-exec-concat
        new ProcessBuilder("ls", "-la", dir).start();
        // ok: java.runtime-exec-concat
        Runtime.getRuntime().exec(new String[] {"ls", "-la", dir});
    }
}
