package com.example.app;

import static org.junit.Assert.assertEquals;

import org.junit.Test;

public class GreeterTest {
    @Test
    public void greetsByName() {
        assertEquals("Hello, Ada!", new Greeter("Hello").greet("Ada"));
    }

    @Test
    public void blankNameGreetsTheWorld() {
        assertEquals("Hi, world!", new Greeter(" Hi ").greet("  "));
    }

    @Test(expected = IllegalArgumentException.class)
    public void blankGreetingIsRefused() {
        new Greeter(" ");
    }
}
