package standin.jmx;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.instrument.Instrumentation;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;

/**
 * Stands in for the Prometheus JMX exporter javaagent: it takes the same argument,
 * [host:]port:config.yaml, and answers /metrics on that port with a few real JVM numbers.
 * Like the real one, a port that is already taken stops the JVM at start.
 */
public final class JmxExporterStandIn {
    private JmxExporterStandIn() {}

    public static void premain(String args, Instrumentation inst) throws IOException {
        String[] parts = args == null ? new String[0] : args.split(":");
        if (parts.length < 2) {
            throw new IllegalArgumentException("Usage: -javaagent:/path/to/JavaAgent.jar=[host:]<port>:<yaml configuration file>");
        }
        String config = parts[parts.length - 1];
        int port = Integer.parseInt(parts[parts.length - 2]);
        String host = parts.length > 2 ? parts[0] : "0.0.0.0";
        if (!Files.isReadable(Paths.get(config))) {
            throw new IllegalArgumentException("cannot read configuration " + config);
        }
        Path dir = Paths.get(System.getProperty("java.io.tmpdir"), "b2i-standin", "jmx");
        Files.createDirectories(dir);
        String pid = ManagementFactory.getRuntimeMXBean().getName().split("@")[0];
        Files.write(dir.resolve(pid + ".txt"), ("args=" + args + "\n").getBytes(StandardCharsets.UTF_8));
        HttpServer server = HttpServer.create(new InetSocketAddress(host, port), 0);
        server.createContext("/metrics", exchange -> {
            Runtime rt = Runtime.getRuntime();
            String body = "# HELP jvm_memory_max_bytes stand-in for the JMX exporter\n"
                + "jvm_memory_max_bytes{area=\"heap\"} " + rt.maxMemory() + "\n"
                + "jmx_config_file{path=\"" + config + "\"} 1\n";
            byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().add("Content-Type", "text/plain; version=0.0.4");
            exchange.sendResponseHeaders(200, bytes.length);
            try (OutputStream os = exchange.getResponseBody()) {
                os.write(bytes);
            }
        });
        // Threads inherit daemon status: started from a daemon thread, the server's dispatcher is one
        // too, so the exporter never keeps a finished app alive (the real exporter behaves the same).
        Thread starter = new Thread(server::start, "jmx-standin-start");
        starter.setDaemon(true);
        starter.start();
        try {
            starter.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
