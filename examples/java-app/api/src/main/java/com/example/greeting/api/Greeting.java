package com.example.greeting.api;

/** A greeting and whom it is for; text() is what a person reads. */
public record Greeting(String salutation, String who) {
    public Greeting {
        if (salutation == null || salutation.isBlank() || who == null || who.isBlank()) {
            throw new IllegalArgumentException("a greeting needs a salutation and someone to greet");
        }
    }

    public String text() {
        return salutation + ", " + who + "!";
    }
}
