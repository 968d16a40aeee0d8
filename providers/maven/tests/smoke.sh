#!/bin/sh
# Smoke checks for the maven image, run inside it as its own user (tests/images mounts this
# folder read-only, pipeyard's test jobs run it from the checkout). The tools must work when a
# job script calls them directly, on the variant's JDK and no other.
set -eu

# The variant's JDK: `java`, `javac`, JAVA_HOME and Maven agree (JDK 8 calls itself 1.8.0).
jdk=${PIPEYARD_VARIANT#jdk}
if [ "$jdk" = 8 ]; then want=1.8.0; else want=$jdk; fi
java -version 2>&1 | grep -q "version \"${want}[._\"]"
javac -version 2>&1 | grep -q "^javac ${want}"
"$JAVA_HOME/bin/java" -version 2>&1 | grep -q "version \"${want}[._\"]"
[ "$(find /usr/lib/jvm -mindepth 1 -maxdepth 1 -type d | wc -l)" -eq 1 ]
mvn -v | grep -q '^Apache Maven 3\.9'
mvn -v | grep -q "^Java version: ${want}"

# A full JDK at its own language level, offline: lambdas on 8, records and text blocks from 17 on.
work=$(mktemp -d)
printf 'import java.util.*;\npublic class Hi { public static void main(String[] a) {\n  List<String> l = Arrays.asList("hi", "from", "java");\n  l.forEach(s -> System.out.print(s + (s.equals("java") ? "\\n" : " ")));\n} }\n' \
  > "$work/Hi.java"
javac -source 8 -target 8 -d "$work" "$work/Hi.java" 2>/dev/null || javac --release 8 -d "$work" "$work/Hi.java"
java -cp "$work" Hi | grep -qx 'hi from java'
if [ "$jdk" -ge 17 ]; then
  printf 'public class Rec { record P(int x, int y) {}\n  public static void main(String[] a) { System.out.println(new P(6, 7).x() * new P(6, 7).y()); } }\n' \
    > "$work/Rec.java"
  javac --release 17 -d "$work" "$work/Rec.java"
  java -cp "$work" Rec | grep -qx 42
fi

# The JVM truststore exists and is readable by a non-root user.
keytool -list -keystore /etc/ssl/certs/java/cacerts -storepass changeit > /dev/null 2>&1

# The main command path: the mvn wrapper configures Maven from the job's variables (maven-configure
# writes settings.xml and its state), then the real Maven runs a build, offline.
mkdir -p "$work/app"
printf '<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>%s</project>\n' \
  '<groupId>smoke</groupId><artifactId>app</artifactId><version>1.0.0</version><packaging>pom</packaging>' \
  > "$work/app/pom.xml"
(cd "$work/app" && MAVEN_MIRROR_URL=${MAVEN_MIRROR_URL:-https://nexus.example.com/repository/maven-public/} \
  mvn --offline --quiet validate)
test -s "${PIPEYARD_STATE_DIR:-$HOME/.cache/pipeyard}/maven/current.sh"

rm -rf "$work"
echo "maven smoke: ok"
