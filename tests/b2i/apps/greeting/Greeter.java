package com.example.greeting;

/** A library class: in the Spring-Boot-style jar it lives in BOOT-INF/lib, in the fat jar next to the app. */
public final class Greeter {
    private Greeter() {}

    public static String greet(String who) {
        return "hello " + who;
    }
}
