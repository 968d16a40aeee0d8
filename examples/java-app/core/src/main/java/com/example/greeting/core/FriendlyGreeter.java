package com.example.greeting.core;

import com.example.greeting.api.Greeter;
import com.example.greeting.api.Greeting;

/** Builds greetings; blank names get a friendly default rather than "Hello, !". */
public final class FriendlyGreeter implements Greeter {
    private final String salutation;

    public FriendlyGreeter(String salutation) {
        if (salutation == null || salutation.isBlank()) {
            throw new IllegalArgumentException("salutation must not be blank");
        }
        this.salutation = salutation.strip();
    }

    @Override
    public Greeting greet(String name) {
        String who = (name == null || name.isBlank()) ? "world" : name.strip();
        return new Greeting(salutation, who);
    }
}
