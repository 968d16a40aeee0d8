/*
 * A STAND-IN for the report goal of org.jacoco:jacoco-maven-plugin, written for pipeyard's tests and
 * demo because Maven Central (where the real plugin lives) cannot be reached here. It is not JaCoCo's
 * code. It follows the goal as JaCoCo documents it
 * (https://www.jacoco.org/jacoco/trunk/doc/report-mojo.html; jacoco-maven-plugin/src/org/jacoco/maven/
 * ReportMojo.java and AbstractReportMojo.java upstream):
 *   - default phase verify; one module's report from its own execution data;
 *   - reads jacoco.dataFile (default ${project.build.directory}/jacoco.exec) and the classes in the
 *     build output directory, with the compile source roots for the annotated sources;
 *   - writes HTML, jacoco.xml and jacoco.csv into outputDirectory
 *     (default ${project.reporting.outputDirectory}/jacoco, i.e. target/site/jacoco);
 *   - title (default ${project.name}), footer, outputEncoding and sourceEncoding (default UTF-8),
 *     includes and excludes (class file patterns, e.g. com/example/generated/**);
 *   - skips pom projects, jacoco.skip=true, a missing execution data file and a missing classes
 *     directory, saying why, as upstream does.
 * The analysis and the formatters are Debian's JaCoCo 0.8.6 libraries (libjacoco-java).
 */
package pipeyard.standin.jacoco;

import java.io.File;
import java.io.FileOutputStream;
import java.io.IOException;
import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import org.apache.maven.plugin.AbstractMojo;
import org.apache.maven.plugin.MojoExecutionException;
import org.apache.maven.project.MavenProject;
import org.jacoco.core.analysis.Analyzer;
import org.jacoco.core.analysis.CoverageBuilder;
import org.jacoco.core.analysis.IBundleCoverage;
import org.jacoco.core.tools.ExecFileLoader;
import org.jacoco.report.DirectorySourceFileLocator;
import org.jacoco.report.FileMultiReportOutput;
import org.jacoco.report.IReportVisitor;
import org.jacoco.report.MultiReportVisitor;
import org.jacoco.report.MultiSourceFileLocator;
import org.jacoco.report.csv.CSVFormatter;
import org.jacoco.report.html.HTMLFormatter;
import org.jacoco.report.xml.XMLFormatter;

public class ReportMojo extends AbstractMojo {

    private static final int TAB_WIDTH = 4;

    // Injected by Maven from plugin.xml (fields, no setters).
    private MavenProject project;
    private File dataFile;
    private File outputDirectory;
    private String outputEncoding;
    private String sourceEncoding;
    private String title;
    private String footer;
    private List<String> includes;
    private List<String> excludes;
    private boolean skip;

    @Override
    public void execute() throws MojoExecutionException {
        if ("pom".equals(project.getPackaging())) {
            getLog().info("Skipping JaCoCo for project with packaging type 'pom'");
            return;
        }
        if (skip) {
            getLog().info("Skipping JaCoCo execution because property jacoco.skip is set.");
            return;
        }
        if (!dataFile.exists()) {
            getLog().info("Skipping JaCoCo execution due to missing execution data file.");
            return;
        }
        File classes = new File(project.getBuild().getOutputDirectory());
        if (!classes.exists()) {
            getLog().info("Skipping JaCoCo execution due to missing classes directory.");
            return;
        }
        try {
            report(classes);
        } catch (IOException e) {
            throw new MojoExecutionException("An error has occurred in JaCoCo report generation: " + e.getMessage(), e);
        }
    }

    private void report(File classes) throws IOException {
        ExecFileLoader loader = new ExecFileLoader();
        loader.load(dataFile);
        CoverageBuilder builder = new CoverageBuilder();
        Analyzer analyzer = new Analyzer(loader.getExecutionDataStore(), builder);
        for (Path file : classFiles(classes.toPath())) {
            analyzer.analyzeAll(file.toFile());
        }
        IBundleCoverage bundle = builder.getBundle(title == null ? project.getName() : title);

        outputDirectory.mkdirs();
        String encoding = outputEncoding == null ? "UTF-8" : outputEncoding;
        List<IReportVisitor> visitors = new ArrayList<>();
        XMLFormatter xml = new XMLFormatter();
        xml.setOutputEncoding(encoding);
        visitors.add(xml.createVisitor(new FileOutputStream(new File(outputDirectory, "jacoco.xml"))));
        CSVFormatter csv = new CSVFormatter();
        csv.setOutputEncoding(encoding);
        visitors.add(csv.createVisitor(new FileOutputStream(new File(outputDirectory, "jacoco.csv"))));
        HTMLFormatter html = new HTMLFormatter();
        html.setOutputEncoding(encoding);
        html.setLocale(Locale.getDefault());
        if (footer != null) {
            html.setFooterText(footer);
        }
        visitors.add(html.createVisitor(new FileMultiReportOutput(outputDirectory)));
        IReportVisitor visitor = new MultiReportVisitor(visitors);

        MultiSourceFileLocator sources = new MultiSourceFileLocator(TAB_WIDTH);
        for (String root : project.getCompileSourceRoots()) {
            sources.add(new DirectorySourceFileLocator(new File(root), sourceEncoding == null ? "UTF-8" : sourceEncoding,
                    TAB_WIDTH));
        }
        visitor.visitInfo(loader.getSessionInfoStore().getInfos(), loader.getExecutionDataStore().getContents());
        visitor.visitBundle(bundle, sources);
        visitor.visitEnd();
        getLog().info("Analyzed bundle '" + bundle.getName() + "' with " + bundle.getClassCounter().getTotalCount()
                + " classes");
    }

    /** The class files under the classes directory that includes (default all) and excludes select. */
    private List<Path> classFiles(Path classes) throws IOException {
        FileSystem fs = FileSystems.getDefault();
        List<PathMatcher> in = matchers(fs, includes == null || includes.isEmpty() ? List.of("**") : includes);
        List<PathMatcher> out = matchers(fs, excludes == null ? List.of() : excludes);
        try (Stream<Path> walk = Files.walk(classes)) {
            return walk.filter(Files::isRegularFile)
                    .filter(p -> p.toString().endsWith(".class"))
                    .filter(p -> {
                        Path rel = classes.relativize(p);
                        return in.stream().anyMatch(m -> m.matches(rel)) && out.stream().noneMatch(m -> m.matches(rel));
                    })
                    .sorted()
                    .collect(Collectors.toList());
        }
    }

    // Ant-style patterns as upstream takes them: "**/" also matches no folder at all.
    private static List<PathMatcher> matchers(FileSystem fs, List<String> patterns) {
        List<PathMatcher> result = new ArrayList<>();
        for (String pattern : patterns) {
            result.add(fs.getPathMatcher("glob:" + pattern));
            if (pattern.startsWith("**/")) {
                result.add(fs.getPathMatcher("glob:" + pattern.substring(3)));
            }
        }
        return result;
    }
}
