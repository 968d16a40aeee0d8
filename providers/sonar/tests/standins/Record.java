package pipeyard.standin;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;

/**
 * What every stand-in scanner does once it has its properties: asks the server its version (with the
 * token, as a real scanner does first), writes the report-task.txt a finished analysis leaves behind,
 * and records what it was given for the test to read.
 */
public final class Record {
  private Record() {
  }

  public static void finish(String scanner, Map<String, String> props, String rawInput) throws Exception {
    String host = props.getOrDefault("sonar.host.url", "http://localhost:9000").replaceAll("/+$", "");
    String token = System.getenv("SONAR_TOKEN");
    String serverVersion = "unknown";
    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(host + "/api/server/version"));
    if (token != null && !token.isEmpty()) {
      request.header("Authorization", "Bearer " + token);
    }
    HttpResponse<String> answer = HttpClient.newHttpClient().send(request.build(), HttpResponse.BodyHandlers.ofString());
    if (answer.statusCode() == 200) {
      serverVersion = answer.body().trim();
    }
    Path task = Path.of(props.getOrDefault("sonar.scanner.metadataFilePath", ".scannerwork/report-task.txt"));
    Files.createDirectories(task.toAbsolutePath().getParent());
    String key = props.getOrDefault("sonar.projectKey", "my_project");
    String pub = "https://sonar.example.com";
    Files.writeString(task, "projectKey=" + key + "\nserverUrl=" + pub + "\nserverVersion=" + serverVersion
        + "\ndashboardUrl=" + pub + "/dashboard?id=" + key + "\nceTaskId=AYhSC2-LY0CHkWJxvNA9\nceTaskUrl=" + pub
        + "/api/ce/task?id=AYhSC2-LY0CHkWJxvNA9\n", StandardCharsets.UTF_8);
    StringBuilder json = new StringBuilder("{\"scanner\": " + quote(scanner) + ", \"java\": "
        + quote(System.getProperty("java.home")) + ", \"token_in_env\": " + (token != null && !token.isEmpty())
        + ", \"server_version\": " + quote(serverVersion) + ", \"properties\": {");
    String sep = "";
    for (Map.Entry<String, String> e : new TreeMap<>(props).entrySet()) {
      json.append(sep).append(quote(e.getKey())).append(": ").append(quote(e.getValue()));
      sep = ", ";
    }
    json.append("}, \"raw\": ").append(quote(rawInput)).append("}\n");
    Files.writeString(task.toAbsolutePath().getParent().resolve("standin-record.json"), json.toString(),
        StandardCharsets.UTF_8);
  }

  static String quote(String s) {
    StringBuilder out = new StringBuilder("\"");
    for (char c : (s == null ? "" : s).toCharArray()) {
      if (c == '"' || c == '\\') {
        out.append('\\').append(c);
      } else if (c == '\n') {
        out.append("\\n");
      } else if (c < 0x20) {
        out.append(String.format("\\u%04x", (int) c));
      } else {
        out.append(c);
      }
    }
    return out.append('"').toString();
  }

  static void log(String message) {
    System.out.println("{\"level\": \"INFO\", \"message\": " + quote(message) + "}");
  }

  static IOException fail(String message) {
    return new IOException(message);
  }
}
