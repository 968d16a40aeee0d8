"""The sonar provider: `sonar-scan` runs the SonarScanner and waits for the quality gate.

client.py speaks the Web API, compat.py holds every version difference (9.9 LTS,
10.x, 2025.x), scan.py builds the scanner command, gate.py waits for the gate.
The sendmail report reuses client and compat.
"""
