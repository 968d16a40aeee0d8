package com.example.greeting.api;

/** Greets one person; implementations decide the wording. */
public interface Greeter {
    /** A greeting for name; a blank or missing name is never an error. */
    Greeting greet(String name);
}
