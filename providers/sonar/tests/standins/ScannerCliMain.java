package pipeyard.standin;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Stands in for the SonarScanner CLI's org.sonarsource.scanner.cli.Main: the -Dkey=value arguments its
 * bin/sonar-scanner script passes on (SonarSource/sonar-scanner-cli src/main/assembly/bin/sonar-scanner).
 */
public final class ScannerCliMain {
  private ScannerCliMain() {
  }

  public static void main(String[] args) throws Exception {
    Map<String, String> props = new LinkedHashMap<>();
    for (String arg : args) {
      if (arg.startsWith("-D") && arg.contains("=")) {
        props.put(arg.substring(2, arg.indexOf('=')), arg.substring(arg.indexOf('=') + 1));
      } else if (!arg.startsWith("-D")) {
        throw Record.fail("unrecognized option: " + arg);
      }
    }
    System.out.println("INFO: Stand-in SonarScanner CLI on Java " + System.getProperty("java.version"));
    Record.finish("cli", props, String.join("\n", args));
    System.out.println("INFO: EXECUTION SUCCESS (stand-in)");
  }
}
