// Starts mongo-java-server (a MongoDB wire-protocol server) with its H2 backend on a chosen
// address, persisting to a file so a stopped server restarts with its data.
// Usage: java -cp JARS MongoWireServer.java HOST PORT DATA_FILE
import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.MongoVersion;
import de.bwaldvogel.mongo.backend.h2.H2Backend;
import java.util.List;

public class MongoWireServer {
  // Driver 7 refuses servers older than 4.4 (wire version 9); the backend speaks what we use.
  enum Version implements MongoVersion {
    MONGO_4_4;
    public List<Integer> getVersionArray() { return List.of(4, 4, 0); }
    public int getWireVersion() { return 9; }
  }

  public static void main(String[] args) {
    H2Backend backend = new H2Backend(args[2]);
    backend.version(Version.MONGO_4_4);
    MongoServer server = new MongoServer(backend);
    server.bind(args[0], Integer.parseInt(args[1]));
    Runtime.getRuntime().addShutdownHook(new Thread(() -> { server.shutdown(); backend.close(); }));
    System.out.println("mongo-wire-server listening on " + args[0] + ":" + args[1]);
  }
}
