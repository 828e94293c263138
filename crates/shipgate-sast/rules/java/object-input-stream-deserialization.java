import java.io.InputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.OutputStream;

class Loader {
    Object load(InputStream in, OutputStream out) throws Exception {
        // ruleid: java.object-input-stream-deserialization
        ObjectInputStream ois = new ObjectInputStream(in);
        // ruleid: java.object-input-stream-deserialization
        Object bean = new java.beans.XMLDecoder(in).readObject();
        // ok: java.object-input-stream-deserialization
        ObjectOutputStream oos = new ObjectOutputStream(out);
        // ok: java.object-input-stream-deserialization
        Object safe = new com.fasterxml.jackson.databind.ObjectMapper().readValue(in, Config.class);
        return ois.readObject();
    }
}
