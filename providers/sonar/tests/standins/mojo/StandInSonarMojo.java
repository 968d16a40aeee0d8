package pipeyard.standin;

import java.io.File;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.maven.plugin.AbstractMojo;
import org.apache.maven.plugin.MojoExecutionException;

/**
 * Stands in for org.sonarsource.scanner.maven:sonar-maven-plugin's `sonar` goal: the sonar.* user
 * properties Maven was given (MavenCli sets -D options as system properties), plus the POM's
 * coordinates the real plugin derives the project key from.
 */
public class StandInSonarMojo extends AbstractMojo {
  private File basedir;
  private String groupId;
  private String artifactId;
  private String projectVersion;

  @Override
  public void execute() throws MojoExecutionException {
    Map<String, String> props = new LinkedHashMap<>();
    for (String name : System.getProperties().stringPropertyNames()) {
      if (name.startsWith("sonar.")) {
        props.put(name, System.getProperty(name));
      }
    }
    props.putIfAbsent("sonar.projectKey", groupId + ":" + artifactId);
    props.putIfAbsent("sonar.projectVersion", projectVersion);
    props.putIfAbsent("sonar.scanner.metadataFilePath", new File(basedir, "target/sonar/report-task.txt").getPath());
    getLog().info("Stand-in sonar-maven-plugin in " + basedir);
    try {
      Record.finish("maven", props, "");
    } catch (Exception e) {
      throw new MojoExecutionException("stand-in sonar-maven-plugin failed: " + e.getMessage(), e);
    }
  }
}
