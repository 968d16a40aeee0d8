package com.example.app;

/** Builds greetings; blank names get a friendly default rather than "Hello, !". */
public final class Greeter {
    private final String greeting;

    public Greeter(String greeting) {
        if (greeting == null || greeting.isBlank()) {
            throw new IllegalArgumentException("greeting must not be blank");
        }
        this.greeting = greeting.strip();
    }

    public String greet(String name) {
        String who = (name == null || name.isBlank()) ? "world" : name.strip();
        return greeting + ", " + who + "!";
    }
}
