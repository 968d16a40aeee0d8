package pipeyard.standin;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Stands in for the scanner engine the server hands out at api/v2/analysis/engine. pysonar starts it
 * as `java -jar engine.jar` and writes {"scannerProperties": [{"key": ..., "value": ...}]} on its stdin
 * (pysonar_scanner/scannerengine.py); it answers with JSON log lines on stdout.
 */
public final class StandInEngine {
  private static final Pattern PAIR = Pattern.compile(
      "\\{\"key\": \"((?:[^\"\\\\]|\\\\.)*)\", \"value\": (\"((?:[^\"\\\\]|\\\\.)*)\"|[^,}]+)\\}");

  private StandInEngine() {
  }

  public static void main(String[] args) throws Exception {
    String input = new String(System.in.readAllBytes(), StandardCharsets.UTF_8);
    Map<String, String> props = new LinkedHashMap<>();
    Matcher m = PAIR.matcher(input);
    while (m.find()) {
      String value = m.group(3) != null ? m.group(3).replace("\\\"", "\"").replace("\\\\", "\\") : m.group(2);
      props.put(m.group(1), value);
    }
    Record.log("Stand-in scanner engine, " + props.size() + " properties");
    Record.finish("engine", props, input);
    Record.log("ANALYSIS SUCCESSFUL (stand-in engine)");
  }
}
