package com.example.demo;

import com.example.greeting.Greeter;
import com.sun.net.httpserver.HttpServer;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;

/**
 * The small app the B2I tests and benchmarks run: it answers GET / with a greeting, its build
 * label, its maximum heap and how it was started (the loader, for the layered jar).
 */
public final class Hello {
    static final String BUILD = "BUILD_LABEL";

    private Hello() {}

    public static void main(String[] args) throws Exception {
        int port = Integer.parseInt(System.getenv().getOrDefault("PORT", "8080"));
        for (String arg : args) {
            if (arg.startsWith("--server.port=")) port = Integer.parseInt(arg.substring("--server.port=".length()));
            if (arg.equals("--exit")) {
                System.out.println("maxHeap=" + Runtime.getRuntime().maxMemory());
                return;
            }
        }
        String loader = System.getProperty("b2i.test.loader", "plain");
        HttpServer server = HttpServer.create(new InetSocketAddress(port), 0);
        server.createContext("/", exchange -> {
            String body = Greeter.greet(System.getenv().getOrDefault("B2I_APP_NAME", "world"))
                + " build=" + BUILD + " maxHeap=" + Runtime.getRuntime().maxMemory() + " loader=" + loader
                + " tz=" + java.util.TimeZone.getDefault().getID() + "\n";
            byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(200, bytes.length);
            try (OutputStream os = exchange.getResponseBody()) {
                os.write(bytes);
            }
        });
        server.start();
        System.out.println("listening on " + port + " maxHeap=" + Runtime.getRuntime().maxMemory());
    }
}
