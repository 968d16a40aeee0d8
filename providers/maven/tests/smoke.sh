#!/bin/sh
# Smoke checks for the maven image, run inside it as its own user (tests/images mounts this
# folder read-only). The tools must work when a job script calls them directly.
set -eu

java -version 2>&1 | grep -q 'version "21'
mvn -v | grep -q '^Apache Maven 3\.9'

# A full JDK, not only a runtime: compile and run a class, offline.
work=$(mktemp -d)
printf 'public class Hi { public static void main(String[] a) { System.out.println("hi from java"); } }\n' \
  > "$work/Hi.java"
javac -d "$work" "$work/Hi.java"
java -cp "$work" Hi | grep -qx 'hi from java'

# The JVM truststore exists and is readable by a non-root user.
keytool -list -cacerts -storepass changeit > /dev/null

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
