package org.springframework.boot.loader.launch;

import java.io.File;
import java.io.InputStream;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.List;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.jar.Manifest;

/**
 * A stand-in for Spring Boot's JarLauncher, so the tests build a real Spring-Boot-style layered
 * jar without Spring: it runs Start-Class with BOOT-INF/classes and BOOT-INF/lib/*.jar on the class
 * path, from the packed jar (`java -jar`) or from the exploded layers (`java -cp DIR JarLauncher`).
 */
public final class JarLauncher {
    private JarLauncher() {}

    public static void main(String[] args) throws Exception {
        Path home = Paths.get(JarLauncher.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        List<URL> urls = new ArrayList<>();
        String startClass;
        if (Files.isDirectory(home)) {
            System.setProperty("b2i.test.loader", "exploded");
            try (InputStream in = Files.newInputStream(home.resolve("META-INF/MANIFEST.MF"))) {
                startClass = new Manifest(in).getMainAttributes().getValue("Start-Class");
            }
            urls.add(home.resolve("BOOT-INF/classes/").toUri().toURL());
            File[] libs = home.resolve("BOOT-INF/lib").toFile().listFiles();
            if (libs != null) for (File lib : libs) urls.add(lib.toURI().toURL());
        } else {
            System.setProperty("b2i.test.loader", "packed");
            Path tmp = Files.createTempDirectory("boot-standin");
            try (JarFile jar = new JarFile(home.toFile())) {
                startClass = jar.getManifest().getMainAttributes().getValue("Start-Class");
                for (Enumeration<JarEntry> e = jar.entries(); e.hasMoreElements();) {
                    JarEntry entry = e.nextElement();
                    if (entry.isDirectory() || !entry.getName().startsWith("BOOT-INF/")) continue;
                    Path out = tmp.resolve(entry.getName());
                    Files.createDirectories(out.getParent());
                    try (InputStream in = jar.getInputStream(entry)) {
                        Files.copy(in, out, StandardCopyOption.REPLACE_EXISTING);
                    }
                    if (entry.getName().startsWith("BOOT-INF/lib/")) urls.add(out.toUri().toURL());
                }
            }
            urls.add(0, tmp.resolve("BOOT-INF/classes/").toUri().toURL());
        }
        ClassLoader loader = new URLClassLoader(urls.toArray(new URL[0]), JarLauncher.class.getClassLoader());
        Thread.currentThread().setContextClassLoader(loader);
        Class.forName(startClass, true, loader).getMethod("main", String[].class).invoke(null, (Object) args);
    }
}
