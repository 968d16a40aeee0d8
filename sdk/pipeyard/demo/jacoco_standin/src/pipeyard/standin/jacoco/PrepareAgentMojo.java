/*
 * A STAND-IN for the prepare-agent goal of org.jacoco:jacoco-maven-plugin, written for pipeyard's tests
 * and demo because Maven Central (where the real plugin lives) cannot be reached here. It is not
 * JaCoCo's code. It follows the goal as JaCoCo documents it
 * (https://www.jacoco.org/jacoco/trunk/doc/prepare-agent-mojo.html; jacoco-maven-plugin/src/org/jacoco/
 * maven/AgentMojo.java and AbstractAgentMojo.java upstream):
 *   - default phase initialize, dependencies resolved for runtime;
 *   - sets the project property jacoco.propertyName (default argLine, which surefire reads) to the
 *     agent's VM argument, put before the property's old value;
 *   - jacoco.destFile (default ${project.build.directory}/jacoco.exec), jacoco.append, includes and
 *     excludes (class name patterns) become the agent's options;
 *   - jacoco.skip=true skips, leaving the property empty when it was unset so @{argLine} still works.
 * The agent is Debian's JaCoCo 0.8.6 (libjacoco-java). Upstream's plugin depends on the agent's
 * "runtime" jar; Debian ships only org.jacoco.agent, which carries that jar inside as a resource, so
 * it is taken out with the agent's own API (org.jacoco.agent.AgentJar) into the build directory.
 */
package pipeyard.standin.jacoco;

import java.io.File;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import org.apache.maven.artifact.Artifact;
import org.apache.maven.plugin.AbstractMojo;
import org.apache.maven.plugin.MojoExecutionException;
import org.apache.maven.project.MavenProject;
import org.jacoco.agent.AgentJar;
import org.jacoco.core.runtime.AgentOptions;

public class PrepareAgentMojo extends AbstractMojo {

    static final String AGENT_ARTIFACT = "org.jacoco:org.jacoco.agent";

    // Injected by Maven from plugin.xml (fields, no setters).
    private MavenProject project;
    private Map<String, Artifact> pluginArtifactMap;
    private File destFile;
    private Boolean append;
    private String propertyName;
    private List<String> includes;
    private List<String> excludes;
    private boolean skip;

    @Override
    public void execute() throws MojoExecutionException {
        String name = propertyName == null || propertyName.isEmpty() ? "argLine" : propertyName;
        Properties properties = project.getProperties();
        if (skip) {
            getLog().info("Skipping JaCoCo execution because property jacoco.skip is set.");
            if (properties.getProperty(name) == null) {
                getLog().info(name + " set to empty");
                properties.setProperty(name, "");
            }
            return;
        }
        AgentOptions options = new AgentOptions();
        options.setDestfile(destFile.getAbsolutePath());
        if (append != null) {
            options.setAppend(append);
        }
        if (includes != null && !includes.isEmpty()) {
            options.setIncludes(String.join(":", includes));
        }
        if (excludes != null && !excludes.isEmpty()) {
            options.setExcludes(String.join(":", excludes));
        }
        String value = options.prependVMArguments(properties.getProperty(name), agentJar());
        getLog().info(name + " set to " + value);
        properties.setProperty(name, value);
    }

    private File agentJar() throws MojoExecutionException {
        Artifact agent = pluginArtifactMap.get(AGENT_ARTIFACT);
        if (agent == null || agent.getFile() == null) {
            throw new MojoExecutionException("the plugin's dependency " + AGENT_ARTIFACT + " was not resolved");
        }
        File jar = new File(project.getBuild().getDirectory(), "jacoco-agent/jacocoagent-" + agent.getVersion() + ".jar");
        if (!jar.isFile()) {
            try {
                jar.getParentFile().mkdirs();
                AgentJar.extractTo(jar);
            } catch (IOException e) {
                throw new MojoExecutionException("cannot write the JaCoCo agent to " + jar + ": " + e.getMessage(), e);
            }
        }
        return jar;
    }
}
