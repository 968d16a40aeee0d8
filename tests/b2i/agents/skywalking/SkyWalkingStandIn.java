package standin.skywalking;

import java.io.IOException;
import java.lang.instrument.Instrumentation;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Map;
import java.util.TreeMap;

/**
 * Stands in for the Apache SkyWalking Java agent in tests: it proves it was loaded by writing a
 * marker, one file per JVM, recording what the real agent would read (its agent args, the
 * skywalking.* system properties and the SW_* environment) and which command loaded it.
 */
public final class SkyWalkingStandIn {
    private SkyWalkingStandIn() {}

    public static void premain(String args, Instrumentation inst) throws IOException {
        Path dir = Paths.get(System.getProperty("java.io.tmpdir"), "b2i-standin", "skywalking");
        Files.createDirectories(dir);
        StringBuilder out = new StringBuilder();
        out.append("agent=skywalking-standin\n");
        out.append("args=").append(args == null ? "" : args).append('\n');
        out.append("command=").append(System.getProperty("sun.java.command", "")).append('\n');
        Map<String, String> props = new TreeMap<>();
        System.getProperties().forEach((k, v) -> {
            if (k.toString().startsWith("skywalking.")) props.put(k.toString(), v.toString());
        });
        props.forEach((k, v) -> out.append("prop.").append(k).append('=').append(v).append('\n'));
        new TreeMap<>(System.getenv()).forEach((k, v) -> {
            if (k.startsWith("SW_")) out.append("env.").append(k).append('=').append(v).append('\n');
        });
        String pid = ManagementFactory.getRuntimeMXBean().getName().split("@")[0];
        Files.write(dir.resolve(pid + ".txt"), out.toString().getBytes(StandardCharsets.UTF_8));
    }
}
