package com.example.greeting.api;

import static org.junit.Assert.assertEquals;

import org.junit.Test;

public class GreetingTest {
    @Test
    public void readsAsASentence() {
        assertEquals("Hello, Ada!", new Greeting("Hello", "Ada").text());
    }

    @Test(expected = IllegalArgumentException.class)
    public void needsSomeoneToGreet() {
        new Greeting("Hello", " ");
    }
}
