"""SonarQube's Web API as the sonar and sendmail providers read it: the client, the metrics and
what changed between server versions."""
