package com.example.greeting.core;

import static org.junit.Assert.assertEquals;

import org.junit.Test;

public class FriendlyGreeterTest {
    @Test
    public void greetsByName() {
        assertEquals("Hello, Ada!", new FriendlyGreeter("Hello").greet("Ada").text());
    }

    @Test
    public void blankNameGreetsTheWorld() {
        assertEquals("Hi, world!", new FriendlyGreeter(" Hi ").greet("  ").text());
    }

    @Test(expected = IllegalArgumentException.class)
    public void blankSalutationIsRefused() {
        new FriendlyGreeter(" ");
    }
}
